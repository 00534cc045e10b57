import type { Rule, SimulateResult, System } from '@flexsecure/core'
import type { FC } from 'hono/jsx'
import type { Form } from '../console-context.js'
import { CHANNEL_ORDERS, describeRule } from '../system-form.js'
import {
  Checkbox,
  Editable,
  ErrorSummary,
  Field,
  type FieldError,
  PostButton,
  Select,
  TableRegion,
  TextArea,
} from './controls.js'
import { Csrf } from './layout.js'

// The systems screen's forms: a system's policy, its ordered rules, a rule to add, and the "try it"
// panel that runs the policy simulation.

const SENSITIVITY: readonly (readonly [string, string])[] = [
  ['low', 'Low'],
  ['medium', 'Medium'],
  ['high', 'High'],
]
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const

/** The policy form: methods, channels, lifetimes, PIN length, attempts, sensitivity, return URL. */
export const PolicyForm: FC<{
  action: string
  csrf: string | null
  system?: System | null
  errors?: readonly FieldError[]
  creating?: boolean
  readonly?: boolean
  /** What was submitted, shown again when it was refused. */
  values?: Form
}> = ({ action, csrf, system, errors, creating, readonly, values }) => {
  const p = system?.policies
  const v = <T,>(name: string, fallback: T) => (values ? (values.get(name) ?? '') : fallback)
  const on = (name: string, fallback: boolean) => (values ? values.has(name) : fallback)
  const enabled = (method: 'passwordless' | 'pin', fallback: boolean) => (
    <Checkbox
      name={`policies.${method}.enabled`}
      label="Enabled"
      checked={on(`policies.${method}.enabled`, fallback)}
    />
  )
  const channels = (method: 'passwordless' | 'pin', fallback: readonly string[]) => (
    <Select
      name={`policies.${method}.channels`}
      label="Channels"
      options={CHANNEL_ORDERS}
      value={v(`policies.${method}.channels`, fallback.join(','))}
      errors={errors}
    />
  )
  const number = (name: string, label: string, [min, max]: [number, number], fallback: number) => (
    <Field
      name={name}
      label={label}
      type="number"
      min={min}
      max={max}
      value={v(name, fallback)}
      errors={errors}
    />
  )
  return (
    <form method="post" action={action} class="stack">
      <Csrf token={csrf} />
      <ErrorSummary errors={errors} />
      <Editable readonly={readonly}>
        {creating ? (
          <Field
            name="name"
            label="Name"
            hint="What the API’s “system” field carries."
            required
            errors={errors}
            value={v('name', system?.name)}
          />
        ) : null}
        <Select
          name="sensitivity"
          label="Sensitivity"
          options={SENSITIVITY}
          value={v('sensitivity', system?.sensitivity ?? 'medium')}
          errors={errors}
        />
        <fieldset>
          <legend>Magic link</legend>
          {enabled('passwordless', p?.passwordless.enabled ?? true)}
          {channels('passwordless', p?.passwordless.channels ?? ['email'])}
          {number(
            'policies.passwordless.lifetimeSeconds',
            'Lifetime in seconds',
            [30, 600],
            p?.passwordless.lifetimeSeconds ?? 600,
          )}
          <TextArea
            name="policies.passwordless.returnUrls"
            label="Same-device return URLs, one per line (optional)"
            hint="Exact URLs a start may name as returnUrl; the confirm page then sends the user there, signed in."
            value={v('policies.passwordless.returnUrls', (p?.passwordless.returnUrls ?? []).join('\n'))}
            rows={2}
            errors={errors}
          />
        </fieldset>
        <fieldset>
          <legend>One-time PIN</legend>
          {enabled('pin', p?.pin.enabled ?? false)}
          {channels('pin', p?.pin.channels ?? ['email', 'sms'])}
          {number(
            'policies.pin.lifetimeSeconds',
            'Lifetime in seconds',
            [30, 600],
            p?.pin.lifetimeSeconds ?? 300,
          )}
          {number('policies.pin.pinLength', 'PIN length (digits)', [6, 10], p?.pin.pinLength ?? 8)}
          {number('policies.pin.attempts', 'Attempts before the PIN burns', [1, 5], p?.pin.attempts ?? 5)}
        </fieldset>
        <Field
          name="returnUrl"
          label="Return URL after a confirmed link (optional)"
          hint="https, on an origin listed in the account’s return origins."
          value={v('returnUrl', system?.returnUrl ?? '')}
          errors={errors}
        />
        {/* Open when its field was refused, so the error beside it shows. */}
        <details open={errors?.some((e) => e.field === 'messages')}>
          <summary>Message overrides for this system (JSON)</summary>
          <TextArea
            name="messages"
            label="Message settings (appName, senderName, webOtpDomain, templates by locale)"
            value={v('messages', system?.messages ? JSON.stringify(system.messages, null, 2) : '')}
            rows={6}
            errors={errors}
          />
        </details>
      </Editable>
      {readonly ? null : <button type="submit">{creating ? 'Create the system' : 'Save the policy'}</button>}
    </form>
  )
}

/** The rules in order, each with its conditions and effects in words, and buttons to reorder or remove. */
export const RuleList: FC<{ base: string; system: System; csrf: string | null; admin: boolean }> = ({
  base,
  system,
  csrf,
  admin,
}) => {
  const at = `${base}/systems/${encodeURIComponent(system.name)}/rules`
  if (system.rules.length === 0)
    return <p>No rules: every login gets what the policy and the assignment give.</p>
  return (
    <TableRegion label="Rules, in order">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Rule</th>
          <th scope="col">When</th>
          <th scope="col">Then</th>
          {admin ? <th scope="col">Order</th> : null}
        </tr>
      </thead>
      <tbody>
        {system.rules.map((rule: Rule, i: number) => {
          const text = describeRule(rule)
          return (
            <tr>
              <td>{String(i + 1)}</td>
              <th scope="row">{rule.name}</th>
              <td>{text.conditions}</td>
              <td>{text.effects}</td>
              {admin ? (
                <td class="actions">
                  {i > 0 ? (
                    <PostButton
                      action={`${at}/move`}
                      label="Up"
                      describe={`Move rule ${rule.name} up`}
                      csrf={csrf}
                      fields={{ rule: rule.name, direction: 'up' }}
                    />
                  ) : null}
                  {i < system.rules.length - 1 ? (
                    <PostButton
                      action={`${at}/move`}
                      label="Down"
                      describe={`Move rule ${rule.name} down`}
                      csrf={csrf}
                      fields={{ rule: rule.name, direction: 'down' }}
                    />
                  ) : null}
                  <PostButton
                    action={`${at}/remove`}
                    label="Remove"
                    describe={`Remove rule ${rule.name}`}
                    csrf={csrf}
                    fields={{ rule: rule.name }}
                    danger
                    confirm={`Remove the rule ${rule.name}?`}
                  />
                </td>
              ) : null}
            </tr>
          )
        })}
      </tbody>
    </TableRegion>
  )
}

/** A rule to add at the end: the common conditions and every effect. */
export const RuleForm: FC<{
  action: string
  csrf: string | null
  errors?: readonly FieldError[]
  values?: Form
}> = ({ action, csrf, errors, values }) => {
  /** A text field of the rule, showing what was submitted when the rule was refused. */
  const text = (
    name: string,
    label: string,
    extra: { type?: 'number'; min?: number; max?: number; pattern?: string } = {},
  ) => <Field name={name} value={values?.get(name)} label={label} errors={errors} {...extra} />
  const choice = (name: string, label: string, options: readonly (readonly [string, string])[]) => (
    <Select name={name} value={values?.get(name)} label={label} options={options} errors={errors} />
  )
  const flag = (name: string, label: string) => (
    <Checkbox name={name} checked={values?.has(name)} label={label} />
  )
  const clock = { pattern: '[0-2][0-9]:[0-5][0-9]' }
  return (
    <form method="post" action={action} class="stack">
      <Csrf token={csrf} />
      <ErrorSummary errors={errors} />
      <Field
        name="rule.name"
        value={values?.get('rule.name')}
        label="Rule name"
        required
        errors={errors}
        errorField="name"
      />
      <fieldset>
        <legend>When (every condition given must hold)</legend>
        {text('when.ipIn', 'Client IP in (CIDR ranges, comma-separated)')}
        {text('when.ipNotIn', 'Client IP not in (CIDR ranges)')}
        {choice('when.sensitivityAtLeast', 'Sensitivity at least', [['', 'Any'], ...SENSITIVITY])}
        {text('when.action', 'Action is one of (context.action, comma-separated)')}
        {text('when.resource', 'Resource is one of (context.resource)')}
        {choice('when.newDevice', 'Device', [
          ['', 'Any device'],
          ['new', 'Never seen in a login of this user'],
          ['known', 'Seen before'],
        ])}
        {text('when.failuresAtLeast', 'At least this many failures in a row', { type: 'number', min: 1 })}
        {text('when.daysSinceLastSuccessAtLeast', 'At least this many days since the last login', {
          type: 'number',
          min: 0,
        })}
        <TextArea
          name="when.userAttributes"
          value={values?.get('when.userAttributes')}
          label="User attributes (key=value, one per line)"
          rows={2}
          errors={errors}
        />
        {text('when.custom', 'Custom predicates (names registered in code)')}
        {choice('when.time', 'Time', [
          ['', 'Any time'],
          ['timeIn', 'Within the window below'],
          ['timeNotIn', 'Outside the window below'],
        ])}
        <fieldset>
          <legend>Time window</legend>
          <div class="days">
            {DAYS.map((day) => (
              <Checkbox
                name="time.days"
                value={day}
                id={`f-time-days-${day}`}
                label={day}
                checked={values?.all('time.days').includes(day)}
              />
            ))}
          </div>
          {text('time.from', 'From (HH:MM)', clock)}
          {text('time.to', 'To (HH:MM, excluded)', clock)}
          <Field
            name="time.timeZone"
            label="Time zone (IANA, e.g. Europe/Berlin)"
            value={values?.get('time.timeZone') ?? 'UTC'}
            errors={errors}
          />
        </fieldset>
      </fieldset>
      <fieldset>
        <legend>Then</legend>
        {flag('effect.deny', 'Deny the login')}
        {flag('effect.requireMemorizedPin', 'Require the memorized PIN as a second layer')}
        {flag('effect.numberMatching', 'Number matching (the link’s page asks for a code)')}
        {choice('effect.channel', 'Send by', [
          ['', 'The usual channel'],
          ['email', 'Email'],
          ['sms', 'SMS'],
        ])}
        {text('effect.maxLifetimeSeconds', 'Lifetime at most (seconds, 30–600)', {
          type: 'number',
          min: 30,
          max: 600,
        })}
        {text('effect.maxAttempts', 'Attempts at most (1–5)', { type: 'number', min: 1, max: 5 })}
      </fieldset>
      <button type="submit">Add the rule</button>
    </form>
  )
}

/** The "try it" panel: a context, and the decision `simulate` takes for it. */
export const TryIt: FC<{
  action: string
  authid: string
  context: string
  result: SimulateResult | null
  error: string | null
}> = ({ action, authid, context, result, error }) => (
  <>
    <form method="get" action={action} class="stack" id="try">
      <Field name="try" label="User id (authid)" value={authid} required />
      <TextArea
        name="context"
        label="Context (key=value, one per line)"
        hint="For example ip=203.0.113.7, action=export, deviceId=laptop-1, sensitivity=high."
        value={context}
        rows={3}
      />
      <button type="submit" class="secondary">
        Try it
      </button>
    </form>
    {error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : null}
    {result ? (
      <div class="result" role="status">
        {result.result === 'security error' ? (
          <p>
            <strong>Refused:</strong> {result.reason}
          </p>
        ) : result.result === 'rate limited' ? (
          <p>
            <strong>Delayed after failed attempts</strong> until {result.retryAfter.toISOString()}
          </p>
        ) : (
          <>
            <p>
              <strong>
                {result.decision.denied ? `Denied: ${result.decision.reason ?? ''}` : 'Allowed'}
              </strong>
              {result.decision.denied
                ? null
                : ` · layers ${result.decision.layers.join(' then ')} · lifetime ${result.decision.lifetimeSeconds} s · ${result.decision.attempts} attempts${result.decision.numberMatching ? ' · number matching' : ''}${result.decision.channel ? ` · by ${result.decision.channel}` : ''} · sensitivity ${result.decision.sensitivity}`}
            </p>
            {result.decision.matched.length === 0 ? (
              <p>No rule matched.</p>
            ) : (
              <ul>
                {result.decision.matched.map((m) => (
                  <li>
                    {m.rule}: {m.because.join('; ')}
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
    ) : null}
  </>
)

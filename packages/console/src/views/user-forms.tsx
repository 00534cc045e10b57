import {
  type Assignment,
  CONSOLE_ROLE_ATTRIBUTE,
  CONSOLE_SYSTEM,
  type System,
  type User,
} from '@flexsecure/core'
import type { FC } from 'hono/jsx'
import { type Form, keyValueLines } from '../console-context.js'
import {
  Checkbox,
  Editable,
  ErrorSummary,
  Field,
  type FieldError,
  fieldId,
  Select,
  TableRegion,
  TextArea,
} from './controls.js'
import { Csrf } from './layout.js'

// The users screen's forms: a user's contact points and locale, assignments (several at once), and a
// method switch per assigned system.

const METHOD_LABEL: Readonly<Record<string, string>> = { passwordless: 'Magic link', pin: 'One-time PIN' }
const CHANNEL_CHOICES: readonly (readonly [string, string])[] = [
  ['', 'As the policy prefers'],
  ['email', 'Email'],
  ['sms', 'SMS'],
]

/** A channel as the selects name it (`SMS`, `Email`). */
const channelName = (channel: string) => CHANNEL_CHOICES.find(([value]) => value === channel)?.[1] ?? channel

/** Whether a system's policy for `method` sends by `channel`. */
const sendsBy = (system: System, method: 'passwordless' | 'pin', channel: string) =>
  (system.policies[method].channels as readonly string[]).includes(channel)

/** The methods a system enables, in the order the console lists them. */
const enabledMethods = (system: System) =>
  (['passwordless', 'pin'] as const).filter((m) => system.policies[m].enabled)

/**
 * The channels a system's enabled methods allow, for a channel select: an email-only system offers no
 * SMS, and a channel only some of its methods allow says which (`SMS (One-time PIN only)`), since the
 * method is chosen beside it. `current` (an assignment's channel) stays listed, so the select shows what
 * is stored even when the policy has dropped it since.
 */
export const channelsOf = (system: System, current?: string | null): (readonly [string, string])[] => {
  const methods = enabledMethods(system)
  return CHANNEL_CHOICES.flatMap(([value, label]): (readonly [string, string])[] => {
    if (value === '') return [[value, label]]
    const by = methods.filter((m) => sendsBy(system, m, value))
    if (by.length === 0) return value === current ? [[value, `${label} (not allowed now)`]] : []
    const only = by.length < methods.length ? ` (${by.map((m) => METHOD_LABEL[m]).join(', ')} only)` : ''
    return [[value, `${label}${only}`]]
  })
}

/**
 * Why an assignment cannot be used as stored, after its system's policy changed (its method turned off,
 * its channel dropped): its logins are refused until it is switched. Null when it can be used.
 */
export function staleAssignment(system: System, assignment: Assignment): string | null {
  const method = METHOD_LABEL[assignment.method] ?? assignment.method
  const policy = system.policies[assignment.method]
  if (!policy.enabled)
    return `${method} is no longer enabled on ${system.name}: its logins are refused until you switch it`
  if (assignment.channel && !sendsBy(system, assignment.method, assignment.channel))
    return `${system.name} no longer sends ${method} by ${assignment.channel === 'sms' ? 'SMS' : 'email'}: its logins are refused until you switch it`
  return null
}

/** The methods a system enables, for a method select. */
export const methodsOf = (system: System): [string, string][] =>
  enabledMethods(system).map((m) => [m, METHOD_LABEL[m] as string])

/** A user's details: display name, contact points, locale, attributes, status. */
export const UserForm: FC<{
  action: string
  csrf: string | null
  user?: User | null
  errors?: readonly FieldError[]
  creating?: boolean
  readonly?: boolean
  /** What was submitted, shown again when it was refused. */
  values?: Form
}> = ({ action, csrf, user, errors, creating, readonly, values }) => {
  const { [CONSOLE_ROLE_ATTRIBUTE]: _role, ...attributes } = user?.attributes ?? {}
  const v = <T,>(name: string, fallback: T) => (values ? (values.get(name) ?? '') : fallback)
  return (
    <form method="post" action={action} class="stack">
      <Csrf token={csrf} />
      <ErrorSummary errors={errors} />
      <Editable readonly={readonly}>
        {creating ? (
          <Field
            name="authid"
            label="User id (authid)"
            hint="How your application names the user; cannot change later."
            required
            errors={errors}
            value={v('authid', user?.authid)}
          />
        ) : null}
        <Field
          name="displayName"
          label="Display name"
          value={v('displayName', user?.displayName)}
          errors={errors}
        />
        <Field
          name="email"
          label="Email address"
          type="email"
          value={v('email', user?.email)}
          errors={errors}
          autocomplete="off"
        />
        <Field
          name="phone"
          label="Phone number"
          type="tel"
          hint="International form, starting with + (e.g. +14155552671)."
          value={v('phone', user?.phone)}
          errors={errors}
        />
        <Field
          name="locale"
          label="Language of messages"
          hint="en, de, or a tag with templates of its own (pt-BR)."
          value={v('locale', user?.locale)}
          errors={errors}
        />
        <TextArea
          name="attributes"
          label="Attributes (key=value, one per line)"
          hint="What rules can test, e.g. department=finance. Console roles are set on the user’s page once created, under Console access."
          value={v('attributes', keyValueLines(attributes))}
          rows={3}
          errors={errors}
        />
        <Select
          name="status"
          label="Status"
          value={v('status', user?.status === 'disabled' ? 'disabled' : 'active')}
          options={[
            ['active', 'Active'],
            ['disabled', 'Disabled (cannot sign in)'],
          ]}
          hint={user?.status === 'locked' ? 'Locked after too many failures: use Unlock.' : undefined}
          errors={errors}
        />
      </Editable>
      {readonly ? null : <button type="submit">{creating ? 'Create the user' : 'Save'}</button>}
    </form>
  )
}

/** Every assigned system with its method, each switchable in one action. */
export const AssignmentTable: FC<{
  action: string
  csrf: string | null
  assignments: readonly Assignment[]
  systems: readonly System[]
  admin: boolean
  /** A switch that was refused: its message, in its row. */
  refused?: { readonly system: string; readonly message: string } | undefined
}> = ({ action, csrf, assignments, systems, admin, refused }) => {
  if (assignments.length === 0) return <p>No systems assigned yet.</p>
  return (
    <TableRegion label="Assigned systems, as a table">
      <thead>
        <tr>
          <th scope="col">System</th>
          <th scope="col">Method</th>
          <th scope="col">Channel</th>
          {admin ? <th scope="col">Switch</th> : null}
        </tr>
      </thead>
      <tbody>
        {assignments.map((a, i) => {
          const system = systems.find((s) => s.name === a.system)
          const stale = system ? staleAssignment(system, a) : null
          return (
            <tr>
              <th scope="row">{a.system}</th>
              <td>{METHOD_LABEL[a.method] ?? a.method}</td>
              <td>
                {a.channel ? channelName(a.channel) : 'as the policy prefers'}
                {stale ? <p class="error">{stale}</p> : null}
              </td>
              {admin && system ? (
                <td>
                  {refused?.system === a.system ? (
                    <p class="error" role="alert" id={fieldId('switch')}>
                      {refused.message}
                    </p>
                  ) : null}
                  <form method="post" action={action} class="inline switch">
                    <Csrf token={csrf} />
                    <input type="hidden" name="system" value={a.system} />
                    <Select
                      name="method"
                      id={`switch-method-${i}`}
                      label={`Method for ${a.system}`}
                      options={methodsOf(system)}
                      value={a.method}
                      hideLabel
                    />
                    <Select
                      name="channel"
                      id={`switch-channel-${i}`}
                      label={`Channel for ${a.system}`}
                      options={channelsOf(system, a.channel)}
                      value={a.channel ?? ''}
                      hideLabel
                    />
                    <button type="submit" class="secondary">
                      Switch
                    </button>
                  </form>
                </td>
              ) : admin ? (
                <td />
              ) : null}
            </tr>
          )
        })}
      </tbody>
    </TableRegion>
  )
}

/** Assign several systems at once, each with a method it enables. */
export const AssignForm: FC<{
  action: string
  csrf: string | null
  systems: readonly System[]
  errors?: readonly FieldError[]
}> = ({ action, csrf, systems, errors }) => {
  const open = systems.filter((s) => s.name !== CONSOLE_SYSTEM && methodsOf(s).length > 0)
  if (open.length === 0) return <p>There is no system with an enabled method to assign.</p>
  return (
    <form method="post" action={action} class="stack">
      <Csrf token={csrf} />
      <ErrorSummary errors={errors} />
      {/* The error summary's link for a refused assignment (its field is `assign`) lands here. */}
      <fieldset id={fieldId('assign')} tabindex={-1}>
        <legend>Systems to assign (adds them, or replaces the method of those already assigned)</legend>
        {open.map((s, i) => (
          <div class="assign-row">
            <Checkbox name="system" value={s.name} id={`assign-${i}`} label={s.name} />
            <Select
              name={`method:${s.name}`}
              id={`assign-method-${i}`}
              label={`Method for ${s.name}`}
              options={methodsOf(s)}
            />
            <Select
              name={`channel:${s.name}`}
              id={`assign-channel-${i}`}
              label={`Channel for ${s.name}`}
              options={channelsOf(s)}
            />
          </div>
        ))}
      </fieldset>
      <button type="submit">Assign the selected systems</button>
    </form>
  )
}

import { type AccountSettings, DEFAULT_SETTINGS, type Message, type MessageSettings } from '@flexsecure/core'
import type { Hono } from 'hono'
import {
  attempt,
  type ConsoleContext,
  type ConsoleEnv,
  type ConsoleKit,
  type Form,
  wholeField,
} from '../console-context.js'
import {
  Checkbox,
  Editable,
  ErrorSummary,
  Field,
  type FieldError,
  Select,
  TextArea,
} from '../views/controls.js'
import { Csrf, Layout } from '../views/layout.js'
import { NOTICES } from './overview.js'

// Account settings: send limits, lockout, uniform responses, retention, return origins, and what
// messages say, with a preview of each message in each locale (saved settings, or a draft). Saving
// needs a fresh login: these are security settings (S24).

const TEMPLATES = [
  ['emailLinkSubject', 'Email with a link: subject'],
  ['emailLinkText', 'Email with a link: text ({link} required)'],
  ['emailLinkButton', 'Email with a link: button'],
  ['emailPinSubject', 'Email with a PIN: subject'],
  ['emailPinText', 'Email with a PIN: text ({pin} required)'],
  ['smsPin', 'SMS with a PIN ({pin} required)'],
  ['smsLink', 'SMS with a link ({link} required)'],
] as const
/** A send limit's or the lockout's default, for a field left empty. */
const defaultOf = (group: 'sendLimits' | 'lockout', key: string) =>
  (DEFAULT_SETTINGS[group] as unknown as Readonly<Record<string, number>>)[key] as number

const LIMITS = [
  ['perUserPerHour', 'Messages per user per hour'],
  ['perDestinationPerHour', 'Messages per address or number per hour'],
  ['perApiKeyPerMinute', 'Starts per API key per minute'],
  ['perAccountPerDay', 'Messages per account per day'],
  ['resendCooldownSeconds', 'Seconds between two starts of a user on a system'],
] as const
const LOCKOUT = [
  ['freeFailures', 'Failures allowed before any delay'],
  ['baseDelaySeconds', 'First delay (seconds), doubling'],
  ['maxDelaySeconds', 'Longest delay (seconds)'],
  ['lockAfter', 'Failures in a row that lock the user (at most 100)'],
] as const
const PREVIEWS = [
  ['passwordless', 'email', 'Email with a link'],
  ['pin', 'email', 'Email with a PIN'],
  ['pin', 'sms', 'SMS with a PIN'],
  ['passwordless', 'sms', 'SMS with a link'],
] as const

/** `settings.sendLimits.perUserPerHour` → `sendLimits.perUserPerHour`; template errors to their control. */
const settingsField = (field: string) =>
  field
    .replace(/^(settings\.)?messages\.templates\.[^.]+\.(\w+)$/, 'template.$2')
    .replace(/^settings\.messages\./, '')
    .replace(/^messages\./, '')
    .replace(/^settings\./, '')
    // `returnOrigins[1]` names a line of the one text area.
    .replace(/^returnOrigins\[\d+\]$/, 'returnOrigins')

/** The message settings the form describes, for `locale`, over the saved ones. */
function messagesFrom(form: Form, saved: MessageSettings | undefined, locale: string): MessageSettings {
  const text = (name: string) => (form.get(name) ?? '').trim()
  const templates: Record<string, string> = {}
  for (const [name] of TEMPLATES) if (text(`template.${name}`)) templates[name] = text(`template.${name}`)
  const { [locale]: _replaced, ...others } = saved?.templates ?? {}
  const allTemplates = Object.keys(templates).length > 0 ? { ...others, [locale]: templates } : others
  return {
    ...(text('appName') ? { appName: text('appName') } : {}),
    ...(text('senderName') ? { senderName: text('senderName') } : {}),
    ...(text('webOtpDomain') ? { webOtpDomain: text('webOtpDomain') } : {}),
    ...(Object.keys(allTemplates).length > 0 ? { templates: allTemplates } : {}),
  }
}

/** Account settings and message templates with previews. */
export function settingsRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  // A language tag in its canonical case (`FR` is `fr`, `pt-br` is `pt-BR`), as the engine matches it:
  // otherwise `FR` would not pass and the page would edit English instead.
  const localeOf = (value: string | undefined) => {
    let canonical: string | undefined
    try {
      canonical = value ? Intl.getCanonicalLocales(value.trim())[0] : undefined
    } catch {
      canonical = undefined
    }
    return canonical && /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(canonical) ? canonical : 'en'
  }

  const settingsPage = async (
    c: ConsoleContext,
    options: {
      locale: string
      errors?: FieldError[]
      messageErrors?: FieldError[]
      draft?: MessageSettings | null
      values?: Form
    },
  ) => {
    const account = c.var.account
    const settings: AccountSettings = await account.settings.get()
    const messages = options.draft ?? settings.messages
    const locales = [
      ...new Set(['en', 'de', ...Object.keys(settings.messages?.templates ?? {}), options.locale]),
    ]
    const previews = await Promise.all(
      locales.map(async (locale) => ({
        locale,
        messages: await Promise.all(
          PREVIEWS.map(async ([method, channel, label]) => {
            const made = await attempt(() =>
              account.settings.previewMessage({
                locale,
                method,
                channel,
                ...(options.draft !== undefined ? { messages: options.draft } : {}),
              }),
            )
            return { label, message: made.ok ? made.value : null }
          }),
        ),
      })),
    )
    const admin = c.var.session?.role === 'admin'
    const csrf = c.var.csrf
    const current = messages?.templates?.[options.locale] ?? {}
    const v = (name: string, fallback: string | number | null | undefined) =>
      options.values?.get(name) ?? fallback
    // Saving the messages lands at #messages, where their notice shows; any other shows at the top.
    const done = c.req.query('done') ?? ''
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Settings" flash={done === 'messages-saved' ? null : NOTICES[done]}>
        <section aria-labelledby="security">
          <h2 id="security">Security</h2>
          <form method="post" action={`${base}/settings`} class="stack">
            <Csrf token={csrf} />
            <ErrorSummary errors={options.errors} />
            <Editable readonly={!admin}>
              <Checkbox
                name="uniformResponses"
                label="Uniform responses"
                checked={options.values ? options.values.has('uniformResponses') : settings.uniformResponses}
                hint="start answers success for unknown and unassigned users too, sending nothing, so its answers reveal no user."
              />
              {(
                [
                  ['sendLimits', 'Send limits', LIMITS, settings.sendLimits],
                  ['lockout', 'Lockout after failures', LOCKOUT, settings.lockout],
                ] as const
              ).map(([group, legend, fields, saved]) => (
                <fieldset>
                  <legend>{legend}</legend>
                  {fields.map(([key, label]) => (
                    <Field
                      name={`${group}.${key}`}
                      label={label}
                      type="number"
                      min={0}
                      hint={`Empty: the default, ${defaultOf(group, key)}.`}
                      value={v(
                        `${group}.${key}`,
                        (saved as unknown as Readonly<Record<string, number>>)[key],
                      )}
                      errors={options.errors}
                    />
                  ))}
                </fieldset>
              ))}
              <Field
                name="auditRetentionDays"
                label="Keep audit events for (days)"
                hint="Empty keeps every event."
                type="number"
                min={1}
                value={v('auditRetentionDays', settings.auditRetentionDays)}
                errors={options.errors}
              />
              <TextArea
                name="returnOrigins"
                label="Return origins (one https origin per line)"
                hint="Where a system’s return URL may point."
                value={v('returnOrigins', settings.returnOrigins.join('\n'))}
                rows={3}
                errors={options.errors}
              />
            </Editable>
            {admin ? <button type="submit">Save the security settings</button> : null}
          </form>
        </section>
        <section aria-labelledby="messages">
          <h2 id="messages">Messages</h2>
          {done === 'messages-saved' ? (
            <p class="flash" role="status">
              {NOTICES['messages-saved']}
            </p>
          ) : null}
          <form method="get" action={`${base}/settings#messages`} class="filters">
            <Select
              name="locale"
              label="Templates for the locale"
              value={options.locale}
              options={locales.map((l) => [l, l] as const)}
            />
            <Field name="locale-new" label="Or another locale (e.g. pt-BR)" />
            <button type="submit" class="secondary">
              Edit
            </button>
          </form>
          <form method="post" action={`${base}/settings/messages`} class="stack">
            <Csrf token={csrf} />
            <input type="hidden" name="locale" value={options.locale} />
            <ErrorSummary errors={options.messageErrors} />
            <Field
              name="appName"
              label="App name in messages"
              hint="By default the system’s name."
              value={v('appName', messages?.appName)}
              errors={options.messageErrors}
            />
            <Field
              name="senderName"
              label="Sender name (email From)"
              value={v('senderName', messages?.senderName)}
              errors={options.messageErrors}
            />
            <Field
              name="webOtpDomain"
              label="WebOTP domain for SMS codes (optional)"
              value={v('webOtpDomain', messages?.webOtpDomain)}
              errors={options.messageErrors}
            />
            <fieldset>
              <legend>Templates in {options.locale} (empty: the shipped wording)</legend>
              <p class="hint">
                Placeholders: {'{app}'} {'{link}'} {'{pin}'} {'{lifetime}'} {'{name}'}.
              </p>
              {TEMPLATES.map(([name, label]) => (
                <TextArea
                  name={`template.${name}`}
                  label={label}
                  value={v(`template.${name}`, current[name])}
                  rows={name.endsWith('Text') ? 4 : 1}
                  errors={options.messageErrors}
                />
              ))}
            </fieldset>
            <div class="buttons">
              <button type="submit" formaction={`${base}/settings/messages/preview`} class="secondary">
                Preview without saving
              </button>
              {admin ? <button type="submit">Save the messages</button> : null}
            </div>
          </form>
          <h3>{options.draft !== undefined ? 'Preview of the draft (not saved)' : 'Preview'}</h3>
          <p class="hint">
            Without an app name set here, a preview names the app by the account’s name; a real message names
            it by its system’s name. A system’s own message overrides (on its page) come before these.
          </p>
          {previews.map((p, i) => (
            <details open={i === 0 || p.locale === options.locale}>
              <summary>{p.locale}</summary>
              <div class="previews">
                {p.messages.map(({ label, message }) => (
                  <Preview label={label} message={message} />
                ))}
              </div>
            </details>
          ))}
        </section>
      </Layout>,
      options.errors || options.messageErrors ? 400 : 200,
    )
  }

  app.get(`${base}/settings`, (c) =>
    settingsPage(c, { locale: localeOf(c.req.query('locale-new') || c.req.query('locale')) }),
  )

  app.post(`${base}/settings`, async (c) => {
    const fresh = kit.requireFresh(c, `${base}/settings`)
    if (fresh) return fresh
    const form = await kit.form(c)
    const done = await attempt(async () => {
      // A field cleared is the default again; a field the form did not send keeps what is saved.
      const numbers = (keys: readonly (readonly [string, string])[], group: 'sendLimits' | 'lockout') =>
        Object.fromEntries(
          keys.flatMap(([key]) => {
            const name = `${group}.${key}`
            if (!form.has(name)) return []
            return [[key, wholeField(form, name) ?? defaultOf(group, key)]]
          }),
        )
      const retention = wholeField(form, 'auditRetentionDays')
      return c.var.account.settings.update({
        uniformResponses: form.has('uniformResponses'),
        sendLimits: numbers(LIMITS, 'sendLimits'),
        lockout: numbers(LOCKOUT, 'lockout'),
        auditRetentionDays: retention ?? null,
        returnOrigins: (form.get('returnOrigins') ?? '')
          .split(/\r?\n/)
          .map((o) => o.trim())
          .filter(Boolean),
      })
    }, settingsField)
    if (!done.ok) return settingsPage(c, { locale: 'en', errors: done.errors, values: form })
    return kit.redirect(c, `${base}/settings`, 'settings-saved')
  })

  app.post(`${base}/settings/messages`, async (c) => {
    const form = await kit.form(c)
    const locale = localeOf(form.get('locale'))
    const fresh = kit.requireFresh(c, `${base}/settings?locale=${locale}`)
    if (fresh) return fresh
    const saved = (await c.var.account.settings.get()).messages
    const messages = messagesFrom(form, saved, locale)
    const done = await attempt(
      () => c.var.account.settings.update({ messages: Object.keys(messages).length > 0 ? messages : null }),
      settingsField,
    )
    if (!done.ok) return settingsPage(c, { locale, messageErrors: done.errors, values: form })
    return kit.redirect(c, `${base}/settings?locale=${locale}#messages`, 'messages-saved')
  })

  // A preview changes nothing: viewers may use it too.
  app.post(`${base}/settings/messages/preview`, async (c) => {
    const form = await kit.form(c)
    const locale = localeOf(form.get('locale'))
    const draft = messagesFrom(form, (await c.var.account.settings.get()).messages, locale)
    const checked = await attempt(
      () => c.var.account.settings.previewMessage({ locale, method: 'pin', channel: 'sms', messages: draft }),
      settingsField,
    )
    if (!checked.ok) return settingsPage(c, { locale, messageErrors: checked.errors, values: form })
    return settingsPage(c, { locale, draft, values: form })
  })
}

const Preview = ({ label, message }: { label: string; message: Message | null }) => (
  <article class="preview">
    <h4>{label}</h4>
    {message === null ? (
      <p class="error">This template cannot be composed.</p>
    ) : (
      <>
        {message.subject ? (
          <p>
            <strong>Subject:</strong> {message.subject}
          </p>
        ) : null}
        <pre>{message.text}</pre>
      </>
    )}
  </article>
)

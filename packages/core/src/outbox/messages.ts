import { ValidationError } from '../domain/errors.js'
import { refuseControlCharacters } from '../domain/login-input.js'
import type { Channel, Method } from '../domain/model.js'
import { type MessageSettings, type MessageTemplates, TEMPLATE_NAMES } from '../domain/settings.js'
import type { Message } from '../ports/notifier.js'
import type { AccountRow, SystemRow, UserRow } from '../ports/storage.js'

// What a login message says, in the user's language. Templates are plain text with placeholders:
// {app} the application's name, {link} the magic link, {pin} the one-time PIN, {lifetime} how long
// it works ("5 minutes"), {name} the user's display name (or nothing). HTML is built from the text
// (escaped) around a button for the link or a large PIN. An account, and then a system, may override
// any template per locale, and the app and sender names.

export { type MessageSettings, type MessageTemplates, TEMPLATE_NAMES } from '../domain/settings.js'

interface Locale {
  readonly templates: MessageTemplates
  readonly lifetime: (minutes: number) => string
}

/** The languages FlexSecure ships; any other locale falls back to its language, then to English. */
export const LOCALES: Readonly<Record<string, Locale>> = {
  en: {
    lifetime: (m) => `${m} minute${m === 1 ? '' : 's'}`,
    templates: {
      emailLinkSubject: 'Sign in to {app}',
      emailLinkText:
        'Hello {name},\n\nSign in to {app} with this link:\n{link}\n\nThe link works once, within {lifetime}. If you did not ask to sign in, ignore this message.',
      emailLinkButton: 'Sign in to {app}',
      emailPinSubject: 'Your {app} sign-in code',
      emailPinText:
        'Hello {name},\n\nYour {app} code is {pin}\n\nIt works once, within {lifetime}. Never share it. If you did not ask to sign in, ignore this message.',
      smsPin: '{pin} is your {app} code. Never share it.',
      smsLink: '{app} sign-in link: {link}',
    },
  },
  de: {
    lifetime: (m) => `${m} Minute${m === 1 ? '' : 'n'}`,
    templates: {
      emailLinkSubject: 'Anmeldung bei {app}',
      emailLinkText:
        'Hallo {name},\n\nmelden Sie sich mit diesem Link bei {app} an:\n{link}\n\nDer Link gilt einmal, innerhalb von {lifetime}. Wenn Sie keine Anmeldung angefordert haben, ignorieren Sie diese Nachricht.',
      emailLinkButton: 'Bei {app} anmelden',
      emailPinSubject: 'Ihr Anmeldecode für {app}',
      emailPinText:
        'Hallo {name},\n\nIhr Code für {app} lautet {pin}\n\nEr gilt einmal, innerhalb von {lifetime}. Geben Sie ihn nie weiter. Wenn Sie keine Anmeldung angefordert haben, ignorieren Sie diese Nachricht.',
      smsPin: '{pin} ist Ihr Code für {app}. Geben Sie ihn nie weiter.',
      smsLink: 'Anmeldelink für {app}: {link}',
    },
  },
}

const LOCALE_PATTERN = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/

/** A BCP 47 language tag as FlexSecure accepts it (`en`, `de-AT`, `pt-BR`); throws naming `field`. */
export function requireLocale(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 35 || !LOCALE_PATTERN.test(value))
    throw new ValidationError(field, 'must be a language tag such as en, de or pt-BR')
  return value
}

/** Validates message settings (account or system); throws `ValidationError` naming the field. */
export function resolveMessageSettings(input: unknown, field: string): MessageSettings | undefined {
  if (input === undefined || input === null) return undefined
  if (typeof input !== 'object' || Array.isArray(input)) throw new ValidationError(field, 'must be an object')
  const raw = input as Record<string, unknown>
  for (const key of Object.keys(raw))
    if (!['appName', 'senderName', 'webOtpDomain', 'templates'].includes(key))
      throw new ValidationError(`${field}.${key}`, 'is not a message setting')
  const text = (key: string, max: number) => {
    const value = raw[key]
    if (value === undefined) return undefined
    // No line breaks or angle brackets: these end up in headers and in SMS.
    if (typeof value !== 'string' || value.length === 0 || value.length > max || /[\r\n<>"]/.test(value))
      throw new ValidationError(
        `${field}.${key}`,
        `must be 1 to ${max} characters, without line breaks, quotes or <>`,
      )
    return refuseControlCharacters(value, `${field}.${key}`)
  }
  const webOtpDomain = raw.webOtpDomain
  if (
    webOtpDomain !== undefined &&
    (typeof webOtpDomain !== 'string' ||
      webOtpDomain.length > 253 ||
      !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(webOtpDomain))
  )
    throw new ValidationError(`${field}.webOtpDomain`, 'must be a lower-case host name such as example.com')
  let templates: Record<string, Partial<MessageTemplates>> | undefined
  if (raw.templates !== undefined) {
    if (typeof raw.templates !== 'object' || raw.templates === null || Array.isArray(raw.templates))
      throw new ValidationError(`${field}.templates`, 'must map locales to templates')
    templates = {}
    for (const [locale, set] of Object.entries(raw.templates as Record<string, unknown>)) {
      requireLocale(locale, `${field}.templates`)
      if (typeof set !== 'object' || set === null || Array.isArray(set))
        throw new ValidationError(`${field}.templates.${locale}`, 'must be an object of templates')
      const checked: Record<string, string> = {}
      for (const [name, template] of Object.entries(set as Record<string, unknown>)) {
        const at = `${field}.templates.${locale}.${name}`
        if (!(TEMPLATE_NAMES as readonly string[]).includes(name))
          throw new ValidationError(at, `is not a template; the templates are ${TEMPLATE_NAMES.join(', ')}`)
        if (typeof template !== 'string' || template.length === 0 || template.length > 2000)
          throw new ValidationError(at, 'must be 1 to 2000 characters')
        // S30: a body may break lines; a subject or a button is one line (a header, a label).
        refuseControlCharacters(template, at, !(name.endsWith('Subject') || name === 'emailLinkButton'))
        const needs =
          name.endsWith('Subject') || name === 'emailLinkButton'
            ? null
            : name.includes('Pin')
              ? '{pin}'
              : '{link}'
        if (needs && !template.includes(needs)) throw new ValidationError(at, `must contain ${needs}`)
        if (name.endsWith('Subject') && /\{(pin|link)\}/.test(template))
          throw new ValidationError(at, 'must not carry the code or the link: subjects show on lock screens')
        checked[name] = template
      }
      templates[locale] = checked
    }
  }
  const settings = {
    ...(text('appName', 60) !== undefined ? { appName: text('appName', 60) } : {}),
    ...(text('senderName', 80) !== undefined ? { senderName: text('senderName', 80) } : {}),
    ...(webOtpDomain !== undefined ? { webOtpDomain: webOtpDomain as string } : {}),
    ...(templates ? { templates } : {}),
  }
  return settings
}

/** What a message needs to say. */
export interface MessageInput {
  readonly method: Method
  readonly channel: Channel
  readonly to: string
  /** The name the message gives the application. */
  readonly appName: string
  readonly displayName?: string | null
  readonly challengeId: string
  readonly lifetimeMinutes: number
  /** The link (passwordless) or the PIN. */
  readonly secret: string
  readonly locale?: string | null
  readonly senderName?: string
  readonly webOtpDomain?: string
  /** Overrides, most specific first (the system's, then the account's). */
  readonly overrides?: readonly (MessageSettings | undefined)[]
}

/**
 * `make` for a key, made once and kept: composing runs for every start. The keys are few in practice
 * (locale tags, templates of at most 2,000 characters), but any may come; at `max` the map starts over.
 */
function keptFor<T>(max: number, make: (key: string) => T): (key: string) => T {
  const kept = new Map<string, T>()
  return (key) => {
    let value = kept.get(key)
    if (value === undefined) {
      value = make(key)
      if (kept.size >= max) kept.clear()
      kept.set(key, value)
    }
    return value
  }
}

/** The locale chain for a tag: itself, its language, then English. */
const chain = keptFor<readonly string[]>(256, (locale) => [
  ...new Set([locale, locale.split('-')[0] as string, 'en']),
])

type Placeholder = 'app' | 'link' | 'pin' | 'lifetime' | 'name'

/** A template split at its placeholders: literal text at the even indexes, a placeholder's name at the odd ones. */
const partsOf = keptFor<readonly string[]>(512, (template) =>
  template.split(/\{(app|link|pin|lifetime|name)\}/),
)

function fill(template: string, values: Readonly<Record<Placeholder, string>>): string {
  const parts = partsOf(template)
  let out = parts[0] as string
  for (let i = 1; i < parts.length; i += 2)
    out += (values[parts[i] as Placeholder] ?? '') + (parts[i + 1] as string)
  return out
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The HTML part: the text's paragraphs, escaped, with the link as a button or the PIN set large. */
function html(text: string, secret: string, isLink: boolean, button: string): string {
  const paragraphs = text
    .split(/\n{2,}/)
    .map((paragraph) => {
      if (isLink && paragraph.includes(secret)) {
        const lead = escapeHtml(paragraph.replace(secret, '').trim())
        return `<p>${lead}</p><p><a href="${escapeHtml(secret)}" style="display:inline-block;padding:12px 20px;background:#1a56db;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${escapeHtml(button)}</a></p><p style="font-size:12px;color:#555555">${escapeHtml(secret)}</p>`
      }
      const body = escapeHtml(paragraph).replace(/\n/g, '<br>')
      return isLink
        ? `<p>${body}</p>`
        : `<p>${body.replace(secret, `<strong style="font-size:24px;letter-spacing:4px">${secret}</strong>`)}</p>`
    })
    .join('\n')
  return `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5;color:#111111">\n${paragraphs}\n</body></html>`
}

/** A template and the locale it was found in: the first override, then the shipped text, along the chain. */
function pick(
  locales: readonly string[],
  overrides: readonly (MessageSettings | undefined)[],
  name: keyof MessageTemplates,
): { template: string; locale: string } {
  for (const locale of locales) {
    for (const settings of overrides) {
      const template = settings?.templates?.[locale]?.[name]
      if (template) return { template, locale }
    }
    const shipped = LOCALES[locale]?.templates[name]
    if (shipped) return { template: shipped, locale }
  }
  return { template: (LOCALES.en as Locale).templates[name], locale: 'en' }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g

/** Composes a link or PIN message for one channel, in the user's language. */
export function composeMessage(input: MessageInput): Message {
  const locales = chain(input.locale ?? 'en')
  const overrides = input.overrides ?? []
  const isLink = input.method === 'passwordless'
  // The main template of the channel decides the message's locale (and how the lifetime reads).
  const sms = input.channel === 'sms'
  const base = pick(
    locales,
    overrides,
    sms ? (isLink ? 'smsLink' : 'smsPin') : isLink ? 'emailLinkText' : 'emailPinText',
  )
  const locale = base.locale
  const lifetime = (LOCALES[locale] ?? LOCALES[locale.split('-')[0] as string] ?? (LOCALES.en as Locale))
    .lifetime
  const values: Record<Placeholder, string> = {
    app: input.appName,
    link: isLink ? input.secret : '',
    pin: isLink ? '' : input.secret,
    lifetime: lifetime(input.lifetimeMinutes),
    // A name stored before S30 refused control characters must not write lines of its own either.
    name: (input.displayName ?? '').replace(CONTROL_CHARACTERS, ' '),
  }
  let parts: Pick<Message, 'subject' | 'text' | 'html'>
  if (sms) {
    let text = fill(base.template, values)
    // WebOTP (https://wicg.github.io/web-otp/): the last line names the origin and the code.
    if (!isLink && input.webOtpDomain) text += `\n\n@${input.webOtpDomain} #${input.secret}`
    parts = { text }
  } else {
    // An empty {name} leaves "Hello ," behind: tidy the greeting instead of shipping it.
    const text = fill(base.template, values).replace(/^(\S+) ,/, '$1,')
    const subject = fill(
      pick(locales, overrides, isLink ? 'emailLinkSubject' : 'emailPinSubject').template,
      values,
    )
    const button = fill(pick(locales, overrides, 'emailLinkButton').template, values)
    parts = { subject, text, html: html(text, input.secret, isLink, button) }
  }
  return {
    channel: input.channel,
    to: input.to,
    kind: isLink ? 'link' : 'pin',
    locale,
    idempotencyKey: input.challengeId,
    ...(input.senderName ? { fromName: input.senderName } : {}),
    ...parts,
  }
}

/** The first of the layers (most specific first: the system's, then the account's) that sets `key`. */
export function firstSetting<K extends 'appName' | 'senderName' | 'webOtpDomain'>(
  layers: readonly (MessageSettings | undefined)[],
  key: K,
): MessageSettings[K] {
  for (const layer of layers) if (layer?.[key] !== undefined) return layer[key]
  return undefined
}

/** A message for one user of one system, with the account's and the system's overrides applied. */
export function composeFor(
  account: AccountRow,
  system: SystemRow,
  user: UserRow,
  input: Pick<MessageInput, 'method' | 'channel' | 'to' | 'challengeId' | 'lifetimeMinutes' | 'secret'>,
): Message {
  const layers = [system.messages ?? undefined, account.settings.messages]
  const senderName = firstSetting(layers, 'senderName')
  const webOtpDomain = firstSetting(layers, 'webOtpDomain')
  const message = composeMessage({
    method: input.method,
    channel: input.channel,
    to: input.to,
    challengeId: input.challengeId,
    lifetimeMinutes: input.lifetimeMinutes,
    secret: input.secret,
    appName: firstSetting(layers, 'appName') ?? system.name,
    displayName: user.displayName,
    locale: user.locale,
    ...(senderName ? { senderName } : {}),
    ...(webOtpDomain ? { webOtpDomain } : {}),
    overrides: layers,
  })
  return { ...message, accountId: account.id }
}

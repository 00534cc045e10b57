import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { ValidationError } from './errors.js'

// S15: destinations are validated as one address each and stored normalized; only those receive messages.

const LOCAL_ATOM = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+$/u
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u
const TOP_LABEL = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/u

/**
 * Normalizes an email address (NFKC, trimmed, domain lower-cased) and checks it is exactly one
 * dot-atom address with a dotted domain. Quoted local parts and display names are refused.
 */
export function normalizeEmail(input: string, field = 'email'): string {
  const value = input.normalize('NFKC').trim()
  if (value.length > 254) throw new ValidationError(field, 'is longer than 254 characters')
  const at = value.lastIndexOf('@')
  if (at <= 0 || at === value.length - 1) throw new ValidationError(field, 'is not an email address')
  const local = value.slice(0, at)
  const domain = value.slice(at + 1).toLowerCase()
  if (local.length > 64) throw new ValidationError(field, 'has a local part longer than 64 characters')
  if (!local.split('.').every((atom) => LOCAL_ATOM.test(atom)))
    throw new ValidationError(field, 'is not a single plain email address')
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label)))
    throw new ValidationError(field, 'has an invalid domain')
  if (!TOP_LABEL.test(labels[labels.length - 1] ?? ''))
    throw new ValidationError(field, 'has an invalid top-level domain')
  return `${local}@${domain}`
}

// S18: numbers whose every message earns someone money (premium rate, shared cost) or costs far more than
// a mobile's (satellite, the international networks +882 and +883, international premium rate +979) are
// what SMS pumping aims at; no login needs them.
const REFUSED_TYPES: Readonly<Record<string, string>> = {
  PREMIUM_RATE: 'a premium-rate number',
  SHARED_COST: 'a shared-cost number',
}
const REFUSED_CALLING_CODES: Readonly<Record<string, string>> = {
  '870': 'a satellite number (Inmarsat)',
  '881': 'a satellite number',
  '882': 'an international-network number',
  '883': 'an international-network number',
  '979': 'an international premium-rate number',
  '808': 'an international shared-cost number',
}

// A start asks for every SMS; parsing with the full metadata costs 35–70 µs (measured), so answers are
// remembered, up to a bound (cleared when full: a stored number is asked again and again, not once).
const kinds = new Map<string, string | null>()
const KINDS_REMEMBERED = 10_000

/** Why no message may go to this E.164 number (`a premium-rate number`), or null when it may. */
export function refusedPhoneKind(e164: string): string | null {
  const known = kinds.get(e164)
  if (known !== undefined) return known
  const parsed = parsePhoneNumberFromString(e164)
  const type = parsed?.getType()
  const kind = parsed
    ? (REFUSED_CALLING_CODES[parsed.countryCallingCode] ?? (type && REFUSED_TYPES[type]) ?? null)
    : null
  if (kinds.size >= KINDS_REMEMBERED) kinds.clear()
  kinds.set(e164, kind)
  return kind
}

/**
 * Validates an international phone number and returns it in E.164 (`+14155552671`). Premium-rate,
 * shared-cost, satellite and international-network numbers are refused (S18).
 */
export function normalizePhone(input: string, field = 'phone'): string {
  const value = input.normalize('NFKC').trim()
  if (!value.startsWith('+'))
    throw new ValidationError(field, 'must be in international form, starting with +')
  const parsed = parsePhoneNumberFromString(value)
  if (!parsed?.isValid()) throw new ValidationError(field, 'is not a valid phone number')
  const refused = refusedPhoneKind(parsed.number)
  if (refused) throw new ValidationError(field, `is ${refused}; messages are never sent to one`)
  return parsed.number
}

/** A destination as the audit shows it (S26): `j***@example.com`, `+1******4567`. */
export function maskDestination(destination: string): string {
  const at = destination.lastIndexOf('@')
  if (at > 0) return `${destination.slice(0, 1)}***${destination.slice(at)}`
  return `${destination.slice(0, 2)}${'*'.repeat(Math.max(destination.length - 6, 0))}${destination.slice(-4)}`
}

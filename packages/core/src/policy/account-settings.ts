import { refuseUnknownKeys, ValidationError } from '../domain/errors.js'
import type { AccountSettings, LockoutPolicy, MessageSettings, SendLimits } from '../domain/settings.js'
import { resolveMessageSettings } from '../outbox/messages.js'

export type { AccountSettings, LockoutPolicy, SendLimits } from '../domain/settings.js'

export interface AccountSettingsInput {
  readonly uniformResponses?: boolean
  readonly sendLimits?: Partial<SendLimits>
  readonly lockout?: Partial<LockoutPolicy>
  readonly auditRetentionDays?: number | null
  readonly returnOrigins?: readonly string[]
  readonly messages?: MessageSettings | null
}

/** docs/security.md S17 and S18 defaults. */
export const DEFAULT_SETTINGS: AccountSettings = {
  uniformResponses: false,
  sendLimits: {
    perUserPerHour: 5,
    perDestinationPerHour: 10,
    perApiKeyPerMinute: 120,
    perAccountPerDay: 10_000,
    resendCooldownSeconds: 30,
  },
  lockout: { freeFailures: 4, baseDelaySeconds: 30, maxDelaySeconds: 3600, lockAfter: 100 },
  auditRetentionDays: null,
  returnOrigins: [],
}

function whole(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ValidationError(field, `must be a whole number from ${min} to ${max}`)
  return value
}

const SETTING_KEYS: readonly (keyof AccountSettingsInput)[] = [
  'uniformResponses',
  'sendLimits',
  'lockout',
  'auditRetentionDays',
  'returnOrigins',
  'messages',
]
const SEND_LIMIT_KEYS: readonly (keyof SendLimits)[] = [
  'perUserPerHour',
  'perDestinationPerHour',
  'perApiKeyPerMinute',
  'perAccountPerDay',
  'resendCooldownSeconds',
]
const LOCKOUT_KEYS: readonly (keyof LockoutPolicy)[] = [
  'freeFailures',
  'baseDelaySeconds',
  'maxDelaySeconds',
  'lockAfter',
]

function object(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'must be an object')
  return value as Record<string, unknown>
}

/** Merges `input` over `base`, validating every field; throws `ValidationError` naming it. */
export function resolveSettings(input: unknown, base: AccountSettings = DEFAULT_SETTINGS): AccountSettings {
  if (input === undefined || input === null) return base
  const given = object('settings', input) as AccountSettingsInput
  refuseUnknownKeys('settings', given, SETTING_KEYS, 'setting')
  const limits = given.sendLimits === undefined ? {} : object('settings.sendLimits', given.sendLimits)
  const lockout = given.lockout === undefined ? {} : object('settings.lockout', given.lockout)
  refuseUnknownKeys('settings.sendLimits', limits, SEND_LIMIT_KEYS, 'setting')
  refuseUnknownKeys('settings.lockout', lockout, LOCKOUT_KEYS, 'setting')
  const uniformResponses = given.uniformResponses ?? base.uniformResponses
  if (typeof uniformResponses !== 'boolean')
    throw new ValidationError('settings.uniformResponses', 'must be true or false')
  const limit = (key: keyof SendLimits) =>
    whole(`settings.sendLimits.${key}`, limits[key] ?? base.sendLimits[key], 1, 10_000_000)
  const lock = (key: keyof LockoutPolicy, min: number, max: number) =>
    whole(`settings.lockout.${key}`, lockout[key] ?? base.lockout[key], min, max)
  const retention = Object.hasOwn(given, 'auditRetentionDays')
    ? given.auditRetentionDays
    : base.auditRetentionDays
  const resolved: AccountSettings = {
    uniformResponses,
    sendLimits: {
      perUserPerHour: limit('perUserPerHour'),
      perDestinationPerHour: limit('perDestinationPerHour'),
      perApiKeyPerMinute: limit('perApiKeyPerMinute'),
      perAccountPerDay: limit('perAccountPerDay'),
      resendCooldownSeconds: whole(
        'settings.sendLimits.resendCooldownSeconds',
        limits.resendCooldownSeconds ?? base.sendLimits.resendCooldownSeconds ?? 30,
        0,
        3600,
      ),
    },
    lockout: {
      freeFailures: lock('freeFailures', 0, 99),
      baseDelaySeconds: lock('baseDelaySeconds', 1, 86_400),
      maxDelaySeconds: lock('maxDelaySeconds', 1, 86_400),
      // S17: never more than 100 consecutive failures before a lock.
      lockAfter: lock('lockAfter', 1, 100),
    },
    auditRetentionDays:
      retention === null || retention === undefined
        ? null
        : whole('settings.auditRetentionDays', retention, 1, 36_500),
    returnOrigins:
      given.returnOrigins === undefined ? base.returnOrigins : requireOrigins(given.returnOrigins),
    ...messagesOf(given, base),
  }
  if (resolved.lockout.maxDelaySeconds < resolved.lockout.baseDelaySeconds)
    throw new ValidationError('settings.lockout.maxDelaySeconds', 'must be at least baseDelaySeconds')
  return resolved
}

/** The message settings: replaced as a whole when given, removed by null. */
function messagesOf(given: AccountSettingsInput, base: AccountSettings): { messages?: MessageSettings } {
  const messages = Object.hasOwn(given, 'messages')
    ? resolveMessageSettings(given.messages, 'settings.messages')
    : base.messages
  return messages ? { messages } : {}
}

/** A list of https origins, each exactly scheme, host and optional port, normalized. */
function requireOrigins(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 50)
    throw new ValidationError('settings.returnOrigins', 'must list at most 50 origins')
  return value.map((item, i) => {
    const field = `settings.returnOrigins[${i}]`
    let url: URL
    try {
      url = new URL(String(item))
    } catch {
      throw new ValidationError(field, 'must be an https origin')
    }
    if (
      url.protocol !== 'https:' ||
      url.origin !== String(item).replace(/\/$/, '') ||
      url.username ||
      url.password
    )
      throw new ValidationError(field, 'must be an https origin such as https://app.example.com')
    return url.origin
  })
}

/** Whether `returnUrl` is https on one of the allowed origins. */
export function isAllowedReturnUrl(returnUrl: string, origins: readonly string[]): boolean {
  try {
    const url = new URL(returnUrl)
    return url.protocol === 'https:' && !url.username && !url.password && origins.includes(url.origin)
  } catch {
    return false
  }
}

/** What a failure streak means: when the user may start again, and whether they are now locked. */
export function delayAfter(
  streak: number,
  lockout: LockoutPolicy,
  now: number,
): { retryAfter: number | null; lock: boolean } {
  if (streak >= lockout.lockAfter) return { retryAfter: null, lock: true }
  if (streak <= lockout.freeFailures) return { retryAfter: null, lock: false }
  const doublings = Math.min(streak - lockout.freeFailures - 1, 30)
  const seconds = Math.min(lockout.baseDelaySeconds * 2 ** doublings, lockout.maxDelaySeconds)
  return { retryAfter: now + seconds * 1000, lock: false }
}

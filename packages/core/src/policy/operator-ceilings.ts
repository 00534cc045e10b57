import { ValidationError } from '../domain/errors.js'
import type { AccountSettings, LockoutPolicy, SendLimits } from '../domain/settings.js'
import { type AccountSettingsInput, resolveSettings } from './account-settings.js'

// docs/security.md S18 and S34: the operator, above every account, bounds what an account's settings may
// loosen. An account can only tighten: ask for fewer sends, fewer free failures, longer delays, a longer
// audit retention. Each bound is "the loosest value allowed", so some are maxima and some minima.

/** The loosest values the operator allows; every field is optional (absent: no bound). */
export interface OperatorCeilings {
  /** The highest each limit may be; for `resendCooldownSeconds` the lowest (a shorter cooldown is looser). */
  readonly sendLimits?: Partial<SendLimits>
  /** The highest `freeFailures` and `lockAfter`, the lowest `baseDelaySeconds` and `maxDelaySeconds`. */
  readonly lockout?: Partial<LockoutPolicy>
  /** The fewest days of audit an account may keep (S34); an account keeping everything (null) is fine. */
  readonly auditRetentionDays?: number
}

type Direction = 'max' | 'min'

const SEND_LIMITS: Readonly<Record<keyof SendLimits, Direction>> = {
  perUserPerHour: 'max',
  perDestinationPerHour: 'max',
  perApiKeyPerMinute: 'max',
  perAccountPerDay: 'max',
  resendCooldownSeconds: 'min',
}
const LOCKOUT: Readonly<Record<keyof LockoutPolicy, Direction>> = {
  freeFailures: 'max',
  lockAfter: 'max',
  baseDelaySeconds: 'min',
  maxDelaySeconds: 'min',
}

function bounds(
  field: string,
  value: unknown,
  directions: Readonly<Record<string, Direction>>,
): Record<string, number> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'must be an object')
  const out: Record<string, number> = {}
  for (const [key, n] of Object.entries(value)) {
    if (!Object.hasOwn(directions, key))
      throw new ValidationError(
        `${field}.${key}`,
        `is not a setting; the settings are ${Object.keys(directions).join(', ')}`,
      )
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw new ValidationError(`${field}.${key}`, 'must be a whole number')
    out[key] = n
  }
  return out
}

/** Validates the operator's ceilings (`ceilings.sendLimits.perUserPerHour`, …); throws naming a bad field. */
export function resolveCeilings(input: unknown): OperatorCeilings {
  if (input === undefined || input === null) return {}
  if (typeof input !== 'object' || Array.isArray(input))
    throw new ValidationError('ceilings', 'must be an object')
  const given = input as Record<string, unknown>
  const unknown = Object.keys(given).find((k) => !['sendLimits', 'lockout', 'auditRetentionDays'].includes(k))
  if (unknown !== undefined)
    throw new ValidationError(
      `ceilings.${unknown}`,
      'is not a ceiling; the ceilings are sendLimits, lockout, auditRetentionDays',
    )
  const retention = given.auditRetentionDays
  if (
    retention !== undefined &&
    (typeof retention !== 'number' || !Number.isInteger(retention) || retention < 1)
  )
    throw new ValidationError('ceilings.auditRetentionDays', 'must be a whole number of days, at least 1')
  return {
    sendLimits: bounds('ceilings.sendLimits', given.sendLimits, SEND_LIMITS),
    lockout: bounds('ceilings.lockout', given.lockout, LOCKOUT),
    ...(retention !== undefined ? { auditRetentionDays: retention as number } : {}),
  }
}

function looser(direction: Direction, value: number, bound: number): boolean {
  return direction === 'max' ? value > bound : value < bound
}

function refuseGroup(
  group: 'sendLimits' | 'lockout',
  input: unknown,
  bound: Readonly<Record<string, number>> | undefined,
  directions: Readonly<Record<string, Direction>>,
) {
  if (!bound || typeof input !== 'object' || input === null) return
  for (const [key, value] of Object.entries(input)) {
    const limit = bound[key]
    const direction = directions[key]
    if (limit === undefined || direction === undefined || typeof value !== 'number') continue
    if (looser(direction, value, limit))
      throw new ValidationError(
        `settings.${group}.${key}`,
        `must be at ${direction === 'max' ? 'most' : 'least'} ${limit}: the operator's ceiling (ceilings.${group}.${key})`,
      )
  }
}

/**
 * Refuses every setting of `input` (an account's requested settings) that is looser than the operator
 * allows, naming the field and the ceiling. Only what the input names is checked: a value stored before a
 * ceiling was set is clamped by `withinCeilings`, and does not block unrelated changes.
 */
export function refuseLooserSettings(input: unknown, ceilings: OperatorCeilings): void {
  if (typeof input !== 'object' || input === null) return
  const given = input as Record<string, unknown>
  refuseGroup('sendLimits', given.sendLimits, ceilings.sendLimits, SEND_LIMITS)
  refuseGroup('lockout', given.lockout, ceilings.lockout, LOCKOUT)
  const min = ceilings.auditRetentionDays
  const days = given.auditRetentionDays
  if (min !== undefined && typeof days === 'number' && days < min)
    throw new ValidationError(
      'settings.auditRetentionDays',
      `must be at least ${min} days: the operator's minimum retention (ceilings.auditRetentionDays)`,
    )
}

function clampGroup<T extends object>(
  values: T,
  bound: Readonly<Record<string, number>> | undefined,
  directions: Readonly<Record<string, Direction>>,
): T {
  if (!bound) return values
  const out: Record<string, number> = { ...(values as Record<string, number>) }
  for (const [key, limit] of Object.entries(bound)) {
    const value = out[key]
    if (value === undefined) continue
    out[key] = directions[key] === 'max' ? Math.min(value, limit) : Math.max(value, limit)
  }
  return out as T
}

const NO_CEILINGS: OperatorCeilings = {}

/** The settings that apply: each looser value replaced by the operator's bound. */
export function withinCeilings(
  settings: AccountSettings,
  ceilings: OperatorCeilings = NO_CEILINGS,
): AccountSettings {
  if (ceilings === NO_CEILINGS) return settings
  const lockout = clampGroup(settings.lockout, ceilings.lockout, LOCKOUT)
  const min = ceilings.auditRetentionDays
  return {
    ...settings,
    sendLimits: clampGroup(settings.sendLimits, ceilings.sendLimits, SEND_LIMITS),
    // A floor raised on baseDelaySeconds must not leave the maximum below it.
    lockout: { ...lockout, maxDelaySeconds: Math.max(lockout.maxDelaySeconds, lockout.baseDelaySeconds) },
    auditRetentionDays:
      settings.auditRetentionDays === null || min === undefined
        ? settings.auditRetentionDays
        : Math.max(settings.auditRetentionDays, min),
  }
}

/** `withinCeilings` remembered per settings object: storage hands out one object per distinct text. */
export function ceilingsApplier(ceilings: OperatorCeilings): (settings: AccountSettings) => AccountSettings {
  const empty =
    Object.keys(ceilings.sendLimits ?? {}).length === 0 &&
    Object.keys(ceilings.lockout ?? {}).length === 0 &&
    ceilings.auditRetentionDays === undefined
  if (empty) return (settings) => settings
  const seen = new WeakMap<AccountSettings, AccountSettings>()
  return (settings) => {
    let effective = seen.get(settings)
    if (!effective) {
      effective = withinCeilings(settings, ceilings)
      seen.set(settings, effective)
    }
    return effective
  }
}

/**
 * What an account stores for a settings change: `input` merged over `base`, refused with
 * `ValidationError` where it is looser than the operator allows, and held within the ceilings.
 */
export function settingsSettler(
  ceilings: OperatorCeilings,
): (input: AccountSettingsInput | undefined, base: AccountSettings) => AccountSettings {
  const effective = ceilingsApplier(ceilings)
  return (input, base) => {
    refuseLooserSettings(input, ceilings)
    return effective(resolveSettings(input, base))
  }
}

import { refuseUnknownKeys, ValidationError } from '../domain/errors.js'
import {
  CHANNELS,
  type Channel,
  type MethodPolicy,
  type PasswordlessPolicy,
  type PinPolicy,
  type SystemPolicies,
} from '../domain/model.js'
import { requireReturnUrls } from '../domain/return-urls.js'

/** How a caller describes policies: every field optional, defaults filled in. */
export interface PoliciesInput {
  readonly passwordless?: Partial<PasswordlessPolicy>
  readonly pin?: Partial<PinPolicy>
}

/** S4: links live 10 minutes, PINs 5; never longer than 10. S2: 8 digits. S16: 5 attempts. */
export const DEFAULT_POLICIES: SystemPolicies = {
  passwordless: { enabled: false, channels: ['email', 'sms'], lifetimeSeconds: 600 },
  pin: { enabled: false, channels: ['email', 'sms'], lifetimeSeconds: 300, pinLength: 8, attempts: 5 },
}

/** The bounds of a method's lifetime, in seconds (rules may only shorten it, not below the least). */
export const MAX_LIFETIME_SECONDS = 600
export const MIN_LIFETIME_SECONDS = 30

/** Merges `input` over `base` and validates the result; throws `ValidationError` naming the field. */
export function resolvePolicies(
  input: PoliciesInput | undefined,
  base: SystemPolicies = DEFAULT_POLICIES,
): SystemPolicies {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input)))
    throw new ValidationError('policies', 'must be an object')
  // A mistyped key (`passwordLess`, `enable`) would leave a method off without a word.
  if (input) refuseUnknownKeys('policies', input, POLICY_KEYS)
  const method = resolveMethod('policies.passwordless', input?.passwordless, base.passwordless, [
    ...METHOD_KEYS,
    'returnUrls',
  ])
  const given = input?.passwordless?.returnUrls
  const returnUrls =
    given === undefined
      ? base.passwordless.returnUrls
      : requireReturnUrls(given, 'policies.passwordless.returnUrls')
  // Kept only when listed, so policies without same-device completion read as they always did.
  const passwordless: PasswordlessPolicy =
    returnUrls && returnUrls.length > 0 ? { ...method, returnUrls } : method
  const pinInput = input?.pin
  const pinBase = resolveMethod('policies.pin', pinInput, base.pin, [...METHOD_KEYS, 'pinLength', 'attempts'])
  const pinLength = integerIn('policies.pin.pinLength', pinInput?.pinLength ?? base.pin.pinLength, 6, 10)
  const attempts = integerIn('policies.pin.attempts', pinInput?.attempts ?? base.pin.attempts, 1, 5)
  return { passwordless, pin: { ...pinBase, pinLength, attempts } }
}

const POLICY_KEYS = ['passwordless', 'pin']
const METHOD_KEYS = ['enabled', 'channels', 'lifetimeSeconds']

function resolveMethod(
  field: string,
  input: Partial<MethodPolicy> | undefined,
  base: MethodPolicy,
  keys: readonly string[],
): MethodPolicy {
  if (input === undefined) return base
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new ValidationError(field, 'must be an object')
  refuseUnknownKeys(field, input, keys)
  const enabled = input.enabled ?? base.enabled
  if (typeof enabled !== 'boolean') throw new ValidationError(`${field}.enabled`, 'must be true or false')
  const channels = input.channels ?? base.channels
  if (
    !Array.isArray(channels) ||
    channels.length === 0 ||
    channels.some((c) => !CHANNELS.includes(c as Channel))
  )
    throw new ValidationError(`${field}.channels`, `must list one or more of ${CHANNELS.join(', ')}`)
  if (new Set(channels).size !== channels.length)
    throw new ValidationError(`${field}.channels`, 'has a duplicate')
  const lifetimeSeconds = integerIn(
    `${field}.lifetimeSeconds`,
    input.lifetimeSeconds ?? base.lifetimeSeconds,
    MIN_LIFETIME_SECONDS,
    MAX_LIFETIME_SECONDS,
  )
  return { enabled, channels: [...channels], lifetimeSeconds }
}

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ValidationError(field, `must be a whole number from ${min} to ${max}`)
  return value
}

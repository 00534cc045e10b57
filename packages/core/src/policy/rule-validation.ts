import { isIP } from 'node:net'
import { refuseUnknownKeys, ValidationError } from '../domain/errors.js'
import {
  CHANNELS,
  type Channel,
  DAYS,
  type Rule,
  type RuleConditions,
  type RuleEffect,
  SENSITIVITIES,
  type Sensitivity,
  type TimeWindow,
  type Weekday,
} from '../domain/model.js'

// Rules arrive as JSON (from the admin API, a config file, code): each is checked here, field by
// field, and refused with a `ValidationError` naming the field, before it is stored or compiled.

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/

function fail(field: string, message: string): never {
  throw new ValidationError(field, message)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function labels(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100)
    fail(field, 'must list 1 to 100 labels')
  return value.map((item, i) =>
    typeof item === 'string' && item.length > 0 && item.length <= 128
      ? item
      : fail(`${field}[${i}]`, 'must be a label of 1 to 128 characters'),
  )
}

function cidrs(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100)
    fail(field, 'must list 1 to 100 CIDR ranges')
  return value.map((item, i) => {
    const [address, bits, extra] = String(item).split('/')
    // A zone id has no place in a range.
    const family = String(item).includes('%') ? 0 : isIP(address ?? '')
    const max = family === 4 ? 32 : 128
    const prefix = bits === undefined ? max : Number(bits)
    if (
      typeof item !== 'string' ||
      family === 0 ||
      extra !== undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > max ||
      (bits !== undefined && !/^\d+$/.test(bits))
    )
      fail(`${field}[${i}]`, 'must be an IPv4 or IPv6 CIDR range such as 203.0.113.0/24')
    return item
  })
}

function timeWindow(value: unknown, field: string): TimeWindow {
  if (!isObject(value)) fail(field, 'must be an object')
  refuseUnknownKeys(field, value, ['timeZone', 'days', 'from', 'to'])
  const timeZone = value.timeZone
  try {
    if (typeof timeZone !== 'string') throw new Error()
    new Intl.DateTimeFormat('en-US', { timeZone })
  } catch {
    fail(`${field}.timeZone`, 'must be an IANA time zone such as Europe/Berlin')
  }
  const days = value.days === undefined ? undefined : value.days
  if (
    days !== undefined &&
    (!Array.isArray(days) || days.length === 0 || days.some((d) => !DAYS.includes(d)))
  )
    fail(`${field}.days`, `must list days among ${DAYS.join(', ')}`)
  for (const key of ['from', 'to'] as const)
    if (value[key] !== undefined && (typeof value[key] !== 'string' || !HHMM.test(value[key] as string)))
      fail(`${field}.${key}`, 'must be a time HH:MM')
  return {
    timeZone: timeZone as string,
    ...(days ? { days: days as Weekday[] } : {}),
    ...(value.from !== undefined ? { from: value.from as string } : {}),
    ...(value.to !== undefined ? { to: value.to as string } : {}),
  }
}

function whole(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    fail(field, `must be a whole number from ${min} to ${max}`)
  return value
}

const CONDITIONS = [
  'ipIn',
  'ipNotIn',
  'timeIn',
  'timeNotIn',
  'sensitivityAtLeast',
  'resource',
  'action',
  'newDevice',
  'failuresAtLeast',
  'daysSinceLastSuccessAtLeast',
  'userAttributes',
  'custom',
] as const
const EFFECTS = [
  'deny',
  'requireMemorizedPin',
  'channel',
  'maxLifetimeSeconds',
  'maxAttempts',
  'numberMatching',
] as const

function conditions(value: unknown, field: string, predicates: ReadonlySet<string> | null): RuleConditions {
  if (!isObject(value)) fail(field, 'must be an object of conditions')
  refuseUnknownKeys(field, value, CONDITIONS)
  const out: Record<string, unknown> = {}
  if (value.ipIn !== undefined) out.ipIn = cidrs(value.ipIn, `${field}.ipIn`)
  if (value.ipNotIn !== undefined) out.ipNotIn = cidrs(value.ipNotIn, `${field}.ipNotIn`)
  if (value.timeIn !== undefined) out.timeIn = timeWindow(value.timeIn, `${field}.timeIn`)
  if (value.timeNotIn !== undefined) out.timeNotIn = timeWindow(value.timeNotIn, `${field}.timeNotIn`)
  if (value.sensitivityAtLeast !== undefined) {
    if (!SENSITIVITIES.includes(value.sensitivityAtLeast as Sensitivity))
      fail(`${field}.sensitivityAtLeast`, `must be one of ${SENSITIVITIES.join(', ')}`)
    out.sensitivityAtLeast = value.sensitivityAtLeast
  }
  if (value.resource !== undefined) out.resource = labels(value.resource, `${field}.resource`)
  if (value.action !== undefined) out.action = labels(value.action, `${field}.action`)
  if (value.newDevice !== undefined) {
    if (typeof value.newDevice !== 'boolean') fail(`${field}.newDevice`, 'must be true or false')
    out.newDevice = value.newDevice
  }
  if (value.failuresAtLeast !== undefined)
    out.failuresAtLeast = whole(value.failuresAtLeast, `${field}.failuresAtLeast`, 1, 1000)
  if (value.daysSinceLastSuccessAtLeast !== undefined)
    out.daysSinceLastSuccessAtLeast = whole(
      value.daysSinceLastSuccessAtLeast,
      `${field}.daysSinceLastSuccessAtLeast`,
      0,
      36_500,
    )
  if (value.userAttributes !== undefined) {
    if (!isObject(value.userAttributes) || Object.keys(value.userAttributes).length === 0)
      fail(`${field}.userAttributes`, 'must map attribute names to values')
    for (const [key, expected] of Object.entries(value.userAttributes)) {
      const list = Array.isArray(expected) ? expected : [expected]
      if (list.length === 0 || list.some((v) => !['string', 'number', 'boolean'].includes(typeof v)))
        fail(`${field}.userAttributes.${key}`, 'must be a string, number or boolean, or a list of them')
    }
    out.userAttributes = value.userAttributes
  }
  if (value.custom !== undefined) {
    const names = labels(value.custom, `${field}.custom`)
    if (predicates)
      for (const name of names)
        if (!predicates.has(name)) fail(`${field}.custom`, `names no registered predicate '${name}'`)
    out.custom = names
  }
  return out as RuleConditions
}

function effect(value: unknown, field: string): RuleEffect {
  if (!isObject(value) || Object.keys(value).length === 0)
    fail(field, 'must be an object with at least one effect')
  refuseUnknownKeys(field, value, EFFECTS)
  const out: Record<string, unknown> = {}
  for (const key of ['deny', 'requireMemorizedPin', 'numberMatching'] as const)
    if (value[key] !== undefined) {
      if (value[key] !== true) fail(`${field}.${key}`, 'must be true (leave it out otherwise)')
      out[key] = true
    }
  if (value.channel !== undefined) {
    if (!CHANNELS.includes(value.channel as Channel))
      fail(`${field}.channel`, `must be one of ${CHANNELS.join(', ')}`)
    out.channel = value.channel
  }
  if (value.maxLifetimeSeconds !== undefined)
    out.maxLifetimeSeconds = whole(value.maxLifetimeSeconds, `${field}.maxLifetimeSeconds`, 30, 600)
  if (value.maxAttempts !== undefined)
    out.maxAttempts = whole(value.maxAttempts, `${field}.maxAttempts`, 1, 5)
  return out as RuleEffect
}

/**
 * Validates a system's rules; throws `ValidationError` naming the field. With `predicates`, a
 * `custom` condition must name a registered one.
 */
export function validateRules(value: unknown, predicates: ReadonlySet<string> | null = null): Rule[] {
  if (!Array.isArray(value) || value.length > 100) fail('rules', 'must be a list of at most 100 rules')
  const names = new Set<string>()
  return value.map((rule, i) => {
    const field = `rules[${i}]`
    if (!isObject(rule)) fail(field, 'must be an object with name, when and effect')
    refuseUnknownKeys(field, rule, ['name', 'when', 'effect'])
    if (typeof rule.name !== 'string' || rule.name.length === 0 || rule.name.length > 100)
      fail(`${field}.name`, 'must be 1 to 100 characters')
    if (names.has(rule.name)) fail(`${field}.name`, 'is used by an earlier rule')
    names.add(rule.name)
    return {
      name: rule.name,
      when: conditions(rule.when ?? {}, `${field}.when`, predicates),
      effect: effect(rule.effect, `${field}.effect`),
    }
  })
}

/** A sensitivity (`low`, `medium`, `high`); anything else is refused naming `field`. */
export function requireSensitivity(value: unknown, field = 'sensitivity'): Sensitivity {
  if (!SENSITIVITIES.includes(value as Sensitivity)) fail(field, `must be one of ${SENSITIVITIES.join(', ')}`)
  return value as Sensitivity
}

import { isIP } from 'node:net'
import { ValidationError } from '../domain/errors.js'
import {
  CHANNELS,
  type Channel,
  DAYS,
  type Method,
  type PolicyInput,
  type Predicate,
  type Rule,
  type RuleConditions,
  type RuleEffect,
  SENSITIVITIES,
  type Sensitivity,
  type TimeWindow,
  type Weekday,
} from '../domain/model.js'

// Adaptive policy. A system has a sensitivity and ordered rules. A rule's conditions read
// the request's context and the user's history; its effect can only tighten what the assignment and
// the system's policy give: add the memorized-PIN layer, pick the channel, shorten the lifetime, lower
// the attempts, require number matching, or deny. Rules are JSON, validated here, and compiled once
// per distinct rule set (CIDRs into BlockLists), so evaluation is a loop over plain checks.

export {
  DAYS,
  EMPTY_RULES,
  type PolicyInput,
  type Predicate,
  type Rule,
  type RuleConditions,
  type RuleEffect,
  type RuleSet,
  SENSITIVITIES,
  type Sensitivity,
  type TimeWindow,
  type Weekday,
} from '../domain/model.js'

const RANK: Record<Sensitivity, number> = { low: 0, medium: 1, high: 2 }

/** The requirement a `start` issues under, and why. Never holds a secret. */
export interface Decision {
  readonly denied: boolean
  /** The layers in order: the assignment's method, then `memorized_pin` when a rule requires it. */
  readonly layers: readonly ('passwordless' | 'pin' | 'memorized_pin')[]
  /** A channel a rule chose, or null for the assignment's or the policy's. */
  readonly channel: Channel | null
  readonly lifetimeSeconds: number
  readonly attempts: number
  /** Whether the link's page asks for a code; never on a PIN login, which has no such page. */
  readonly numberMatching: boolean
  readonly sensitivity: Sensitivity
  /** Each rule that matched, in order, with the conditions that made it match. */
  readonly matched: readonly { readonly rule: string; readonly because: readonly string[] }[]
  /** Why the request was denied, when it was. */
  readonly reason: string | null
}

// ---------------------------------------------------------------------------------------------
// Validation

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/

function fail(field: string, message: string): never {
  throw new ValidationError(field, message)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) fail(`${field}.${key}`, `is not one of ${allowed.join(', ')}`)
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
  onlyKeys(value, ['timeZone', 'days', 'from', 'to'], field)
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
  onlyKeys(value, CONDITIONS, field)
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
  onlyKeys(value, EFFECTS, field)
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
    onlyKeys(rule, ['name', 'when', 'effect'], field)
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

export function requireSensitivity(value: unknown, field = 'sensitivity'): Sensitivity {
  if (!SENSITIVITIES.includes(value as Sensitivity)) fail(field, `must be one of ${SENSITIVITIES.join(', ')}`)
  return value as Sensitivity
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** A CIDR range as numbers: IPv4 in a 32-bit number, IPv6 in a bigint. */
type Range =
  | { readonly v4: true; readonly base: number; readonly mask: number }
  | { readonly v4: false; readonly base: bigint; readonly mask: bigint }

/** A parsed client address; parsed once per decision, compared against every range as numbers. */
type Address = { readonly v4: true; readonly value: number } | { readonly v4: false; readonly value: bigint }

function parseV4(text: string): number {
  const parts = text.split('.')
  return (
    ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0
  )
}

function parseV6(text: string): bigint {
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  let body = text
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body)
  if (v4) {
    const n = parseV4(v4[1] as string)
    body = `${body.slice(0, -(v4[1] as string).length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const [head = '', tail] = body.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  let value = 0n
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group || '0', 16))
  return value
}

const MAPPED = 0xffffn

function parseAddress(raw: string): Address | null {
  // A zone id (fe80::1%eth0) names an interface, not part of the address.
  const text = raw.split('%')[0] as string
  const family = isIP(text)
  if (family === 4) return { v4: true, value: parseV4(text) }
  if (family !== 6) return null
  const value = parseV6(text)
  // An IPv4-mapped IPv6 address, however written, is the IPv4 address it maps.
  return value >> 32n === MAPPED ? { v4: true, value: Number(value & 0xffffffffn) } : { v4: false, value }
}

function parseRange(cidr: string): Range {
  const [address = '', bits] = cidr.split('/')
  if (isIP(address) === 4) {
    const prefix = bits === undefined ? 32 : Number(bits)
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
    return { v4: true, base: (parseV4(address) & mask) >>> 0, mask }
  }
  const prefix = BigInt(bits === undefined ? 128 : Number(bits))
  const mask = ((1n << 128n) - 1n) ^ ((1n << (128n - prefix)) - 1n)
  const base = parseV6(address) & mask
  // ::ffff:10.0.0.0/104 is the IPv4 range 10.0.0.0/8, as the addresses it holds are matched as IPv4.
  if (prefix >= 96n && base >> 32n === MAPPED)
    return parseRange(`${v4Text(Number(base & 0xffffffffn))}/${Number(prefix) - 96}`)
  return { v4: false, base, mask }
}

const v4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')

function inRanges(address: Address, ranges: readonly Range[]): boolean {
  for (const range of ranges) {
    if (range.v4 !== address.v4) continue
    if (
      range.v4
        ? ((address.value as number) & range.mask) >>> 0 === range.base
        : ((address.value as bigint) & range.mask) === range.base
    )
      return true
  }
  return false
}

interface CompiledRule {
  readonly rule: Rule
  readonly when: RuleConditions
  /** The conditions that need no history query (device seen, last success, custom predicates). */
  readonly withoutHistory: RuleConditions
  readonly readsHistory: boolean
  readonly ipIn: readonly Range[] | null
  readonly ipNotIn: readonly Range[] | null
}

// Rule sets are read from storage as frozen, shared objects: compile each one once.
const compiled = new WeakMap<readonly Rule[], CompiledRule[]>()
function compile(rules: readonly Rule[]): CompiledRule[] {
  let out = compiled.get(rules)
  if (!out) {
    out = rules.map((rule) => {
      const { newDevice, daysSinceLastSuccessAtLeast, custom, ...withoutHistory } = rule.when ?? {}
      return {
        rule,
        when: rule.when ?? {},
        withoutHistory,
        readsHistory:
          newDevice !== undefined || daysSinceLastSuccessAtLeast !== undefined || custom !== undefined,
        ipIn: rule.when?.ipIn ? rule.when.ipIn.map(parseRange) : null,
        ipNotIn: rule.when?.ipNotIn ? rule.when.ipNotIn.map(parseRange) : null,
      }
    })
    compiled.set(rules, out)
  }
  return out
}

const formatters = new Map<string, Intl.DateTimeFormat>()
// Formatting a date in a zone costs microseconds; the answer holds for the whole minute.
const lastLocal = new Map<
  string,
  { readonly minuteStart: number; readonly value: { day: Weekday; minute: number } }
>()

/** The weekday and minute of the day at `now` in `timeZone` (every zone offset is whole minutes). */
function localTime(now: number, timeZone: string): { day: Weekday; minute: number } {
  const minuteStart = now - (now % 60_000)
  const last = lastLocal.get(timeZone)
  if (last?.minuteStart === minuteStart) return last.value
  const value = formatLocalTime(now, timeZone)
  lastLocal.set(timeZone, { minuteStart, value })
  return value
}

function formatLocalTime(now: number, timeZone: string): { day: Weekday; minute: number } {
  let format = formatters.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set(timeZone, format)
  }
  let day: Weekday = 'sun'
  let hour = 0
  let minute = 0
  for (const part of format.formatToParts(now)) {
    if (part.type === 'weekday') day = part.value.slice(0, 3).toLowerCase() as Weekday
    else if (part.type === 'hour') hour = Number(part.value)
    else if (part.type === 'minute') minute = Number(part.value)
  }
  return { day, minute: hour * 60 + minute }
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

/** What one decision reads more than once: the parsed address and each zone's local time. */
interface Evaluation {
  readonly input: PolicyInput
  readonly sensitivity: Sensitivity
  readonly address: Address | null
  readonly zones: Map<string, { day: Weekday; minute: number }>
  readonly predicates: Readonly<Record<string, Predicate>>
}

function inWindow(window: TimeWindow, evaluation: Evaluation): boolean {
  let local = evaluation.zones.get(window.timeZone)
  if (!local) {
    local = localTime(evaluation.input.now, window.timeZone)
    evaluation.zones.set(window.timeZone, local)
  }
  if (window.days && !window.days.includes(local.day)) return false
  const from = window.from ? minutes(window.from) : 0
  const to = window.to ? minutes(window.to) : 24 * 60
  // A window like 22:00–06:00 wraps past midnight.
  return from <= to ? local.minute >= from && local.minute < to : local.minute >= from || local.minute < to
}

const DAY = 86_400_000

const daysSince = (input: PolicyInput) =>
  input.user.lastSuccessAt === null ? null : Math.floor((input.now - input.user.lastSuccessAt) / DAY)

/**
 * Whether every condition of the rule holds. Cheap checks first; explanations are built only for
 * matches. With `withoutHistory`, the conditions on the user's history count as holding.
 */
function matches(compiledRule: CompiledRule, evaluation: Evaluation, withoutHistory = false): boolean {
  const when = withoutHistory ? compiledRule.withoutHistory : compiledRule.when
  const { input } = evaluation
  const { context, user } = input
  if (when.sensitivityAtLeast && RANK[evaluation.sensitivity] < RANK[when.sensitivityAtLeast]) return false
  if (when.resource && (typeof context.resource !== 'string' || !when.resource.includes(context.resource)))
    return false
  if (when.action && (typeof context.action !== 'string' || !when.action.includes(context.action)))
    return false
  if (when.failuresAtLeast !== undefined && user.failureStreak < when.failuresAtLeast) return false
  if (when.newDevice !== undefined && (input.knownDevice !== true) !== when.newDevice) return false
  if (when.daysSinceLastSuccessAtLeast !== undefined) {
    const days = daysSince(input)
    if (days !== null && days < when.daysSinceLastSuccessAtLeast) return false
  }
  if (when.userAttributes)
    for (const [key, expected] of Object.entries(when.userAttributes)) {
      const actual = user.attributes[key]
      if (
        actual === undefined ||
        !(Array.isArray(expected) ? expected.includes(actual) : expected === actual)
      )
        return false
    }
  if (compiledRule.ipIn && !(evaluation.address && inRanges(evaluation.address, compiledRule.ipIn)))
    return false
  // A request without an address counts as outside every range.
  if (compiledRule.ipNotIn && evaluation.address && inRanges(evaluation.address, compiledRule.ipNotIn))
    return false
  if (when.timeIn && !inWindow(when.timeIn, evaluation)) return false
  if (when.timeNotIn && inWindow(when.timeNotIn, evaluation)) return false
  // An unregistered predicate never matches: a rule cannot be satisfied by a typo.
  if (when.custom) for (const name of when.custom) if (!evaluation.predicates[name]?.(input)) return false
  return true
}

/** Why a matching rule matched, one phrase per condition, for the audit and simulation. */
function explain(compiledRule: CompiledRule, evaluation: Evaluation): string[] {
  const { when } = compiledRule
  const { input } = evaluation
  const ip = typeof input.context.ip === 'string' ? input.context.ip : null
  const because: string[] = []
  if (when.ipIn) because.push(`ip ${ip} in ${when.ipIn.join(', ')}`)
  if (when.ipNotIn)
    because.push(ip && evaluation.address ? `ip ${ip} not in ${when.ipNotIn.join(', ')}` : 'no client ip')
  if (when.timeIn) because.push(`time inside ${describeWindow(when.timeIn)}`)
  if (when.timeNotIn) because.push(`time outside ${describeWindow(when.timeNotIn)}`)
  if (when.sensitivityAtLeast)
    because.push(`sensitivity ${evaluation.sensitivity} ≥ ${when.sensitivityAtLeast}`)
  if (when.resource) because.push(`resource ${input.context.resource}`)
  if (when.action) because.push(`action ${input.context.action}`)
  if (when.newDevice !== undefined)
    because.push(when.newDevice ? 'device not seen before' : 'device seen before')
  if (when.failuresAtLeast !== undefined) because.push(`${input.user.failureStreak} consecutive failures`)
  if (when.daysSinceLastSuccessAtLeast !== undefined) {
    const days = daysSince(input)
    because.push(days === null ? 'never authenticated' : `${days} days since the last success`)
  }
  if (when.userAttributes)
    for (const key of Object.keys(when.userAttributes))
      because.push(`user ${key} = ${String(input.user.attributes[key])}`)
  if (when.custom) for (const name of when.custom) because.push(`custom ${name}`)
  if (because.length === 0) because.push('always')
  return because
}

function describeWindow(window: TimeWindow): string {
  return `${window.days ? `${window.days.join(',')} ` : ''}${window.from ?? '00:00'}–${window.to ?? '24:00'} ${window.timeZone}`
}

/** The base a decision starts from: the assignment's method and the system's policy for it. */
export interface DecisionBase {
  readonly method: Method
  readonly lifetimeSeconds: number
  readonly attempts: number
}

/** Decides what a `start` requires. Pure: the caller reads the history the rules need. */
export function decide(
  rules: readonly Rule[],
  base: DecisionBase,
  input: PolicyInput,
  predicates: Readonly<Record<string, Predicate>> = {},
): Decision {
  const evaluation = evaluationOf(input, predicates)
  const { sensitivity } = evaluation
  let denied = false
  let reason: string | null = null
  let memorized = false
  let channel: Channel | null = null
  let lifetimeSeconds = base.lifetimeSeconds
  let attempts = base.attempts
  let numberMatching = false
  const matched: { rule: string; because: string[] }[] = []
  for (const compiledRule of compile(rules)) {
    if (!matches(compiledRule, evaluation)) continue
    const { name, effect: apply } = compiledRule.rule
    matched.push({ rule: name, because: explain(compiledRule, evaluation) })
    if (apply.deny && !denied) {
      denied = true
      reason = `denied by rule '${name}'`
    }
    if (apply.requireMemorizedPin) memorized = true
    if (apply.channel && channel === null) channel = apply.channel
    if (apply.maxLifetimeSeconds !== undefined)
      lifetimeSeconds = Math.min(lifetimeSeconds, apply.maxLifetimeSeconds)
    if (apply.maxAttempts !== undefined) attempts = Math.min(attempts, apply.maxAttempts)
    if (apply.numberMatching) numberMatching = true
  }
  if (memorized && !input.user.hasMemorizedPin && !denied) {
    denied = true
    reason = 'a memorized PIN is required and the user has none'
  }
  return {
    denied,
    layers: memorized ? [base.method, 'memorized_pin'] : [base.method],
    channel,
    lifetimeSeconds,
    attempts,
    // Only a link has a page to type the code on: on a PIN login nothing would ever check it (S12).
    numberMatching: numberMatching && base.method === 'passwordless',
    sensitivity,
    matched,
    reason,
  }
}

/**
 * Whether deciding needs the user's history (devices seen, last success), which costs a query: only
 * when a rule reads it and all of that rule's other conditions hold for this request. `input`'s
 * history fields are not read.
 */
export function needsHistory(rules: readonly Rule[], input: PolicyInput): boolean {
  const reading = compile(rules).filter((rule) => rule.readsHistory)
  if (reading.length === 0) return false
  const evaluation = evaluationOf(input, {})
  return reading.some((rule) => matches(rule, evaluation, true))
}

function evaluationOf(input: PolicyInput, predicates: Readonly<Record<string, Predicate>>): Evaluation {
  const contextSensitivity = input.context.sensitivity
  const sensitivity =
    typeof contextSensitivity === 'string' &&
    SENSITIVITIES.includes(contextSensitivity as Sensitivity) &&
    RANK[contextSensitivity as Sensitivity] > RANK[input.system.sensitivity]
      ? (contextSensitivity as Sensitivity)
      : input.system.sensitivity
  const ip = input.context.ip
  return {
    input,
    sensitivity,
    address: typeof ip === 'string' ? parseAddress(ip) : null,
    zones: new Map(),
    predicates,
  }
}

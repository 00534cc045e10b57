import { BlockList, isIP } from 'node:net'
import { ValidationError } from './errors.js'
import { CHANNELS, type Channel, type Method, type RequestContext } from './model.js'

// Adaptive policy (issue 7). A system has a sensitivity and ordered rules. A rule's conditions read
// the request's context and the user's history; its effect can only tighten what the assignment and
// the system's policy give: add the memorized-PIN layer, pick the channel, shorten the lifetime, lower
// the attempts, require number matching, or deny. Rules are JSON, validated here, and compiled once
// per distinct rule set (CIDRs into BlockLists), so evaluation is a loop over plain checks.

export type Sensitivity = 'low' | 'medium' | 'high'
export const SENSITIVITIES: readonly Sensitivity[] = ['low', 'medium', 'high']
const RANK: Record<Sensitivity, number> = { low: 0, medium: 1, high: 2 }

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
export type Weekday = (typeof DAYS)[number]

/** A time window in a time zone: on these weekdays (default every day), from `from` to `to` (HH:MM, `to` excluded). */
export interface TimeWindow {
  readonly timeZone: string
  readonly days?: readonly Weekday[]
  readonly from?: string
  readonly to?: string
}

/** Every condition given must hold for the rule to match; a rule without conditions always matches. */
export interface RuleConditions {
  /** The client IP (`context.ip`) is in one of these CIDR ranges (IPv4 or IPv6). */
  readonly ipIn?: readonly string[]
  /** The client IP is in none of these ranges; a request without an IP counts as outside. */
  readonly ipNotIn?: readonly string[]
  /** The request falls inside this window. */
  readonly timeIn?: TimeWindow
  /** The request falls outside this window. */
  readonly timeNotIn?: TimeWindow
  /** The effective sensitivity (the system's, raised by `context.sensitivity`) is at least this. */
  readonly sensitivityAtLeast?: Sensitivity
  /** `context.resource` is one of these labels. */
  readonly resource?: readonly string[]
  /** `context.action` is one of these labels. */
  readonly action?: readonly string[]
  /** `context.deviceId` was never seen in an authenticated login of this user (true), or was (false). */
  readonly newDevice?: boolean
  /** The user's consecutive failures are at least this many. */
  readonly failuresAtLeast?: number
  /** At least this many days since the user's last authenticated login (or never). */
  readonly daysSinceLastSuccessAtLeast?: number
  /** Each named user attribute equals the value, or one of the values. */
  readonly userAttributes?: Readonly<
    Record<string, string | number | boolean | readonly (string | number | boolean)[]>
  >
  /** Predicates registered in code (`createEngine({ policy: { predicates } })`), all true. */
  readonly custom?: readonly string[]
}

/** What a matching rule does. Nothing here can weaken the assignment's method. */
export interface RuleEffect {
  readonly deny?: boolean
  /** Adds the user's memorized PIN as a layer after the delivered link or one-time PIN. */
  readonly requireMemorizedPin?: boolean
  /** Send on this channel, when the policy enables it and the user has it. The first rule that says wins. */
  readonly channel?: Channel
  /** Shorten the challenge's lifetime to at most this. */
  readonly maxLifetimeSeconds?: number
  /** Lower the PIN attempts to at most this. */
  readonly maxAttempts?: number
  /** The host shows a code that the confirm page must receive (S12). */
  readonly numberMatching?: boolean
}

export interface Rule {
  readonly name: string
  readonly when?: RuleConditions
  readonly effect: RuleEffect
}

/** A system's rules as stored: versioned, with who changed them and when. */
export interface RuleSet {
  readonly version: number
  readonly updatedAt: number | null
  readonly updatedBy: string | null
  readonly rules: readonly Rule[]
}

export const EMPTY_RULES: RuleSet = Object.freeze({ version: 0, updatedAt: null, updatedBy: null, rules: [] })

/** What a custom predicate sees. */
export interface PolicyInput {
  readonly system: { readonly name: string; readonly sensitivity: Sensitivity }
  readonly user: {
    readonly authid: string
    readonly attributes: Readonly<Record<string, string | number | boolean>>
    readonly failureStreak: number
    readonly lastSuccessAt: number | null
    readonly hasMemorizedPin: boolean
  }
  readonly context: RequestContext
  /** Whether `context.deviceId` was seen before for this user; null without a device id. */
  readonly knownDevice: boolean | null
  readonly now: number
}

export type Predicate = (input: PolicyInput) => boolean

/** The requirement a `start` issues under, and why. Never holds a secret. */
export interface Decision {
  readonly denied: boolean
  /** The layers in order: the assignment's method, then `memorized_pin` when a rule requires it. */
  readonly layers: readonly ('passwordless' | 'pin' | 'memorized_pin')[]
  /** A channel a rule chose, or null for the assignment's or the policy's. */
  readonly channel: Channel | null
  readonly lifetimeSeconds: number
  readonly attempts: number
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
    const family = isIP(address ?? '')
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

interface CompiledRule {
  readonly rule: Rule
  readonly ipIn: BlockList | null
  readonly ipNotIn: BlockList | null
}

function blockList(ranges: readonly string[] | undefined): BlockList | null {
  if (!ranges) return null
  const list = new BlockList()
  for (const range of ranges) {
    const [address = '', bits] = range.split('/')
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    list.addSubnet(address, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type)
  }
  return list
}

// Rule sets are read from storage as frozen, shared objects: compile each one once.
const compiled = new WeakMap<readonly Rule[], CompiledRule[]>()
function compile(rules: readonly Rule[]): CompiledRule[] {
  let out = compiled.get(rules)
  if (!out) {
    out = rules.map((rule) => ({
      rule,
      ipIn: blockList(rule.when?.ipIn),
      ipNotIn: blockList(rule.when?.ipNotIn),
    }))
    compiled.set(rules, out)
  }
  return out
}

const formatters = new Map<string, Intl.DateTimeFormat>()
/** The weekday and minute of the day at `now` in `timeZone`. */
function localTime(now: number, timeZone: string): { day: Weekday; minute: number } {
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

function inWindow(window: TimeWindow, now: number): boolean {
  const local = localTime(now, window.timeZone)
  if (window.days && !window.days.includes(local.day)) return false
  const from = window.from ? minutes(window.from) : 0
  const to = window.to ? minutes(window.to) : 24 * 60
  // A window like 22:00–06:00 wraps past midnight.
  return from <= to ? local.minute >= from && local.minute < to : local.minute >= from || local.minute < to
}

function ipOf(context: RequestContext): { address: string; type: 'ipv4' | 'ipv6' } | null {
  const ip = context.ip
  if (typeof ip !== 'string') return null
  const family = isIP(ip)
  return family === 0 ? null : { address: ip, type: family === 4 ? 'ipv4' : 'ipv6' }
}

const DAY = 86_400_000

/** The reasons each condition of `rule` holds, or null as soon as one does not. */
function matches(
  compiledRule: CompiledRule,
  input: PolicyInput,
  sensitivity: Sensitivity,
  predicates: Readonly<Record<string, Predicate>>,
): string[] | null {
  const when = compiledRule.rule.when ?? {}
  const because: string[] = []
  const { context, user } = input
  if (compiledRule.ipIn || compiledRule.ipNotIn) {
    const ip = ipOf(context)
    if (compiledRule.ipIn) {
      if (!ip || !compiledRule.ipIn.check(ip.address, ip.type)) return null
      because.push(`ip ${ip.address} in ${when.ipIn?.join(', ')}`)
    }
    if (compiledRule.ipNotIn) {
      if (ip && compiledRule.ipNotIn.check(ip.address, ip.type)) return null
      because.push(ip ? `ip ${ip.address} not in ${when.ipNotIn?.join(', ')}` : 'no client ip')
    }
  }
  if (when.timeIn) {
    if (!inWindow(when.timeIn, input.now)) return null
    because.push(`time inside ${describeWindow(when.timeIn)}`)
  }
  if (when.timeNotIn) {
    if (inWindow(when.timeNotIn, input.now)) return null
    because.push(`time outside ${describeWindow(when.timeNotIn)}`)
  }
  if (when.sensitivityAtLeast) {
    if (RANK[sensitivity] < RANK[when.sensitivityAtLeast]) return null
    because.push(`sensitivity ${sensitivity} ≥ ${when.sensitivityAtLeast}`)
  }
  if (when.resource) {
    if (typeof context.resource !== 'string' || !when.resource.includes(context.resource)) return null
    because.push(`resource ${context.resource}`)
  }
  if (when.action) {
    if (typeof context.action !== 'string' || !when.action.includes(context.action)) return null
    because.push(`action ${context.action}`)
  }
  if (when.newDevice !== undefined) {
    // Without a device id the device is unknown: it counts as new.
    const isNew = input.knownDevice !== true
    if (isNew !== when.newDevice) return null
    because.push(isNew ? 'device not seen before' : 'device seen before')
  }
  if (when.failuresAtLeast !== undefined) {
    if (user.failureStreak < when.failuresAtLeast) return null
    because.push(`${user.failureStreak} consecutive failures`)
  }
  if (when.daysSinceLastSuccessAtLeast !== undefined) {
    const days = user.lastSuccessAt === null ? null : Math.floor((input.now - user.lastSuccessAt) / DAY)
    if (days !== null && days < when.daysSinceLastSuccessAtLeast) return null
    because.push(days === null ? 'never authenticated' : `${days} days since the last success`)
  }
  if (when.userAttributes) {
    for (const [key, expected] of Object.entries(when.userAttributes)) {
      const actual = user.attributes[key]
      const allowed = Array.isArray(expected) ? expected : [expected]
      if (actual === undefined || !allowed.includes(actual)) return null
      because.push(`user ${key} = ${String(actual)}`)
    }
  }
  if (when.custom) {
    for (const name of when.custom) {
      const predicate = predicates[name]
      // An unregistered predicate never matches: a rule cannot be satisfied by a typo.
      if (!predicate?.(input)) return null
      because.push(`custom ${name}`)
    }
  }
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
  const contextSensitivity = input.context.sensitivity
  const sensitivity =
    typeof contextSensitivity === 'string' &&
    SENSITIVITIES.includes(contextSensitivity as Sensitivity) &&
    RANK[contextSensitivity as Sensitivity] > RANK[input.system.sensitivity]
      ? (contextSensitivity as Sensitivity)
      : input.system.sensitivity
  let denied = false
  let reason: string | null = null
  let memorized = false
  let channel: Channel | null = null
  let lifetimeSeconds = base.lifetimeSeconds
  let attempts = base.attempts
  let numberMatching = false
  const matched: { rule: string; because: string[] }[] = []
  for (const compiledRule of compile(rules)) {
    const because = matches(compiledRule, input, sensitivity, predicates)
    if (!because) continue
    const { name, effect: apply } = compiledRule.rule
    matched.push({ rule: name, because })
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
    numberMatching,
    sensitivity,
    matched,
    reason,
  }
}

/** Whether any rule reads the user's history (devices, last success), which costs a query. */
export function needsHistory(rules: readonly Rule[]): boolean {
  return rules.some(
    (rule) =>
      rule.when?.newDevice !== undefined ||
      rule.when?.daysSinceLastSuccessAtLeast !== undefined ||
      rule.when?.custom !== undefined,
  )
}

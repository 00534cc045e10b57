import {
  type Channel,
  type Method,
  type PolicyInput,
  type Predicate,
  type Rule,
  type RuleConditions,
  SENSITIVITIES,
  type Sensitivity,
  type TimeWindow,
  type Weekday,
} from '../domain/model.js'
import { type Address, inRanges, parseAddress, parseRange, type Range } from './ip-ranges.js'

// Adaptive policy. A system has a sensitivity and ordered rules. A rule's conditions read
// the request's context and the user's history; its effect can only tighten what the assignment and
// the system's policy give: add the memorized-PIN layer, pick the channel, shorten the lifetime, lower
// the attempts, require number matching, or deny. Rules are JSON, validated in `rule-validation.ts`,
// and compiled here once per distinct rule set (CIDRs into numeric ranges, `ip-ranges.ts`), so
// evaluation is a loop over plain checks.

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
export { requireSensitivity, validateRules } from './rule-validation.js'

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

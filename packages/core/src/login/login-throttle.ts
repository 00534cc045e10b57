import { refuseUnknownKeys, ValidationError } from '../domain/errors.js'
import type { LoginThrottle, Operation } from '../ports/login-guards.js'
import type { AuditDraft } from '../ports/rows.js'
import { type Rate, type TokenBuckets, tokenBuckets } from './token-buckets.js'

/**
 * How fast logins may be asked for (S19, S31). Every limit is kept in this process's memory: see
 * docs/architecture.md ("Refusals are cheap") for why, and what N processes change.
 */
export interface ThrottleSettings {
  /** `start` calls per API key (or in-process actor) and per account, whatever their outcome (S31). */
  readonly start: { readonly perKey: Rate; readonly perAccount: Rate }
  /** `check` calls per API key and per account, whatever their outcome (S31). */
  readonly check: { readonly perKey: Rate; readonly perAccount: Rate }
  /** `check` calls per login, keyed on the resolved user and system (or the decoy) (S19). */
  readonly polls: Rate
  /**
   * Refusals that change nothing (unknown user or system, nothing pending, …) audited one event each,
   * per account and key per minute; the rest, and every throttled call, are counted in one summary
   * event per account and key per minute (S31).
   */
  readonly auditedRefusalsPerMinute: number
}

/** `false` turns every limit off (benchmarks, tests of something else); a partial object tunes them. */
export type ThrottleInput =
  | false
  | {
      readonly start?: { readonly perKey?: Partial<Rate>; readonly perAccount?: Partial<Rate> }
      readonly check?: { readonly perKey?: Partial<Rate>; readonly perAccount?: Partial<Rate> }
      readonly polls?: Partial<Rate>
      readonly auditedRefusalsPerMinute?: number
    }

/**
 * The defaults. A key's budget is a third of its account's, so one flooding key cannot spend the
 * budget of the account's other keys. Checks allow 100 waiting users per key polling every 2 s.
 */
export const DEFAULT_THROTTLE: ThrottleSettings = {
  start: { perKey: { burst: 100, perSecond: 5 }, perAccount: { burst: 300, perSecond: 15 } },
  check: { perKey: { burst: 500, perSecond: 50 }, perAccount: { burst: 1500, perSecond: 150 } },
  polls: { burst: 10, perSecond: 1 },
  auditedRefusalsPerMinute: 30,
}

const UNLIMITED: Rate = { burst: Number.POSITIVE_INFINITY, perSecond: Number.POSITIVE_INFINITY }
const OFF: ThrottleSettings = {
  start: { perKey: UNLIMITED, perAccount: UNLIMITED },
  check: { perKey: UNLIMITED, perAccount: UNLIMITED },
  polls: UNLIMITED,
  auditedRefusalsPerMinute: Number.POSITIVE_INFINITY,
}

function positive(field: string, value: unknown, whole: boolean): number {
  if (typeof value !== 'number' || !(value > 0) || value > 1e9 || (whole && !Number.isInteger(value)))
    throw new ValidationError(field, `must be a ${whole ? 'whole ' : ''}number above 0, at most 1e9`)
  return value
}

function object(field: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'must be an object')
  refuseUnknownKeys(field, value, keys)
  return value as Record<string, unknown>
}

function rate(field: string, value: unknown, base: Rate): Rate {
  const given = object(field, value, ['burst', 'perSecond'])
  return {
    burst: positive(`${field}.burst`, given.burst ?? base.burst, true),
    perSecond: positive(`${field}.perSecond`, given.perSecond ?? base.perSecond, false),
  }
}

/** Validates `input` over the defaults; throws `ValidationError` naming the field. */
export function resolveThrottle(input: unknown): ThrottleSettings {
  if (input === false) return OFF
  const given = object('throttle', input ?? {}, ['start', 'check', 'polls', 'auditedRefusalsPerMinute'])
  const pair = (name: 'start' | 'check') => {
    const value = object(`throttle.${name}`, given[name], ['perKey', 'perAccount'])
    return {
      perKey: rate(`throttle.${name}.perKey`, value.perKey, DEFAULT_THROTTLE[name].perKey),
      perAccount: rate(`throttle.${name}.perAccount`, value.perAccount, DEFAULT_THROTTLE[name].perAccount),
    }
  }
  return {
    start: pair('start'),
    check: pair('check'),
    polls: rate('throttle.polls', given.polls, DEFAULT_THROTTLE.polls),
    auditedRefusalsPerMinute: positive(
      'throttle.auditedRefusalsPerMinute',
      given.auditedRefusalsPerMinute ?? DEFAULT_THROTTLE.auditedRefusalsPerMinute,
      true,
    ),
  }
}

const WINDOW_MS = 60_000

/** One account and key's minute: how many refusals were audited one by one, and what was only counted. */
interface Window {
  readonly accountId: string
  readonly actor: string
  readonly from: number
  audited: number
  readonly counted: Map<string, number>
}

/** The login throttle of one engine (S19, S31), in this process's memory. */
export function loginThrottle(settings: ThrottleSettings, maxSubjects = 100_000): LoginThrottle {
  const buckets = {
    start: {
      perKey: tokenBuckets(settings.start.perKey, maxSubjects),
      perAccount: tokenBuckets(settings.start.perAccount, maxSubjects),
    },
    check: {
      perKey: tokenBuckets(settings.check.perKey, maxSubjects),
      perAccount: tokenBuckets(settings.check.perAccount, maxSubjects),
    },
  } satisfies Record<Operation, Record<string, TokenBuckets>>
  const polls = tokenBuckets(settings.polls, maxSubjects)
  const windows = new Map<string, Window>()
  const ended: Window[] = []

  const windowOf = (accountId: string, actor: string, now: number): Window => {
    const key = `${accountId}\u0000${actor}`
    let window = windows.get(key)
    if (window && now - window.from >= WINDOW_MS) {
      windows.delete(key)
      keep(window)
      window = undefined
    }
    if (!window) {
      window = { accountId, actor, from: now, audited: 0, counted: new Map() }
      windows.set(key, window)
      // Bounded like the buckets: the oldest window is closed early, its counts kept for the summary.
      if (windows.size > maxSubjects) {
        const [oldestKey, oldest] = windows.entries().next().value as [string, Window]
        windows.delete(oldestKey)
        keep(oldest)
      }
    }
    return window
  }
  const count = (accountId: string, actor: string, what: string, now: number) => {
    const window = windowOf(accountId, actor, now)
    window.counted.set(what, (window.counted.get(what) ?? 0) + 1)
  }

  return {
    admit(operation, accountId, actor, now) {
      // The key first: a flooding key's refused calls never reach the account's budget.
      const wait =
        buckets[operation].perKey.take(`${accountId}\u0000${actor}`, now) ||
        buckets[operation].perAccount.take(accountId, now)
      if (wait > 0) count(accountId, actor, `${operation}: rate limited`, now)
      return wait
    },
    admitPoll(login, accountId, actor, now) {
      const wait = polls.take(login, now)
      if (wait > 0) count(accountId, actor, 'check: polled too often', now)
      return wait
    },
    auditRefusal(accountId, actor, what, now) {
      const window = windowOf(accountId, actor, now)
      if (window.audited < settings.auditedRefusalsPerMinute) {
        window.audited++
        return true
      }
      window.counted.set(what, (window.counted.get(what) ?? 0) + 1)
      return false
    },
    drain(now, all = false) {
      for (const [key, window] of windows)
        if (all || now - window.from >= WINDOW_MS) {
          windows.delete(key)
          keep(window)
        }
      return ended.splice(0).map((window) => summary(window, Math.min(now, window.from + WINDOW_MS)))
    },
  }

  /** A closed window waits for `drain`; a host that never calls `runDue` must not grow memory for it. */
  function keep(window: Window) {
    if (window.counted.size === 0) return
    ended.push(window)
    if (ended.length > maxSubjects) ended.shift()
  }
}

/** One account and key's counted refusals as one audit event (S31). */
function summary(window: Window, to: number): AuditDraft {
  const counts = Object.fromEntries([...window.counted].sort(([a], [b]) => (a < b ? -1 : 1)))
  return {
    accountId: window.accountId,
    at: to,
    type: 'refusals.summarized',
    actor: window.actor,
    system: null,
    authid: null,
    challengeId: null,
    outcome: 'summary',
    reason: null,
    ip: null,
    userAgent: null,
    details: {
      from: window.from,
      to,
      total: [...window.counted.values()].reduce((a, b) => a + b, 0),
      counts,
    },
  }
}

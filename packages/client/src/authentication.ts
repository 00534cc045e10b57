import type { Reading } from './answers.js'
import { abortReason, jittered } from './delay.js'
import type {
  AuthenticateAnswer,
  CheckAnswer,
  CheckInput,
  PendingAnswer,
  RequestContext,
  Sleep,
  StartAnswer,
  StartInput,
} from './types.js'

/** What `authenticate` takes: who signs in where, and how to poll. */
export interface AuthenticateOptions {
  readonly system: string
  readonly authid: string
  readonly context?: RequestContext
  /** Stops polling at once; `authenticate` rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /** Time between checks, 2000 ms by default. */
  readonly intervalMs?: number
  /** Spread of each interval as a fraction of it, 0.2 (±20%) by default. */
  readonly jitter?: number
  /** Called with every `pending` answer; an error it throws ends `authenticate`. */
  readonly onPending?: (answer: PendingAnswer) => void | Promise<void>
  /** Gives up after this long, rejecting with a `TimeoutError` DOMException. */
  readonly timeoutMs?: number
}

/** The calls and the pacing `authenticate` runs on. */
export interface LoginDriver {
  start(input: StartInput, signal: AbortSignal | undefined): Promise<Reading<StartAnswer>>
  check(input: CheckInput, signal: AbortSignal | undefined): Promise<Reading<CheckAnswer>>
  readonly sleep: Sleep
  readonly random: () => number
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number of milliseconds`)
  return value
}

/** A signal that aborts with `outer` or after `timeoutMs`, and a `dispose` that leaves no timer or listener. */
function deadline(outer: AbortSignal | undefined, timeoutMs: number | undefined) {
  if (timeoutMs === undefined) return { signal: outer, dispose: () => {} }
  const controller = new AbortController()
  const follow = () => controller.abort(abortReason(outer as AbortSignal))
  if (outer?.aborted) follow()
  else outer?.addEventListener('abort', follow, { once: true })
  const timer = setTimeout(
    () => controller.abort(new DOMException(`authenticate gave up after ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  )
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer)
      outer?.removeEventListener('abort', follow)
    },
  }
}

/**
 * Starts a login, then polls `check` until it is authenticated, expired or finally refused;
 * a `rate limited` check waits what the server asked before the next poll.
 */
export async function authenticate(
  driver: LoginDriver,
  options: AuthenticateOptions,
): Promise<AuthenticateAnswer> {
  const { system, authid, context, onPending } = options
  const intervalMs = positive('intervalMs', options.intervalMs ?? 2000)
  const jitter = options.jitter ?? 0.2
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1))
    throw new RangeError('jitter must be a fraction from 0 to 1')
  if (options.timeoutMs !== undefined) positive('timeoutMs', options.timeoutMs)
  const next = () => jittered(intervalMs, jitter, driver.random)

  const { signal, dispose } = deadline(options.signal, options.timeoutMs)
  const stopIfAborted = () => {
    if (signal?.aborted) throw abortReason(signal)
  }
  try {
    stopIfAborted()
    const { answer: begun } = await driver.start(
      context === undefined ? { system, authid } : { system, authid, context },
      signal,
    )
    if (begun.result !== 'success') return begun
    let waitMs = next()
    for (;;) {
      stopIfAborted()
      await driver.sleep(waitMs, signal)
      stopIfAborted()
      // Pinned to this login's challenge, so a newer login for the same user can never answer this one;
      // the context goes along, so the audited outcome says where the login came from.
      const pinned = {
        system,
        authid,
        ...(begun.challengeId === undefined ? {} : { challengeId: begun.challengeId }),
        ...(context === undefined ? {} : { context }),
      }
      const { answer, retryAfterMs } = await driver.check(pinned, signal)
      switch (answer.result) {
        case 'pending':
          await onPending?.(answer)
          waitMs = next()
          break
        case 'rate limited':
          waitMs = retryAfterMs ?? next()
          break
        case 'security error':
          if (answer.reason !== 'wrong_pin') return answer
          waitMs = next()
          break
        default:
          return answer
      }
    }
  } finally {
    dispose()
  }
}

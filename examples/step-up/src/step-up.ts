import { createHash } from 'node:crypto'
import type { AccountHandle } from '@flexsecure/core'
import type { RequestContext } from '@flexsecure/example-shared'

// Step-up: the user is already signed in with the app's password; before a sensitive action runs,
// FlexSecure proves again that it is them, by a one-time PIN or a link sent to their email. The
// authid is the signed-in user's, never something the browser sends, and a passed step-up counts for
// this session only, for a few minutes ("sudo mode").

/** A step-up counts this long for its session. */
export const STEP_UP_MS = 5 * 60_000

/** A step-up under way for one session: the action waiting for it and the challenge it polls. */
interface PendingStepUp {
  readonly authid: string
  readonly action: string
  readonly challengeId: string | undefined
  readonly method: 'pin' | 'passwordless'
  readonly matchCode: string | null
}

/** What the browser sees next. */
export type StepUpOutcome =
  | { readonly kind: 'pin'; readonly message: string | null }
  | { readonly kind: 'link'; readonly matchCode: string | null; readonly note: string | null }
  | { readonly kind: 'done'; readonly action: string }
  | { readonly kind: 'ended'; readonly message: string }

const ENDED = {
  expired: 'The step-up expired before it was completed. Try the action again.',
  exhausted: 'Too many wrong codes. Try the action again to get a new one.',
  other: 'The step-up could not be completed. Try the action again.',
} as const

/** Step-ups of one FlexSecure system, for sessions identified by their session cookie's value. */
export function createStepUp(options: {
  readonly account: Pick<AccountHandle, 'start' | 'check'>
  readonly system: string
  readonly now: () => number
}) {
  const { account, system, now } = options
  const key = (session: string) => createHash('sha256').update(session).digest('base64url')
  const pending = new Map<string, PendingStepUp>()
  const passed = new Map<string, { readonly authid: string; readonly at: number }>()
  // Why a session's last step-up ended, told once: the waiting page's poll learns it, the page after shows it.
  const endings = new Map<string, string>()
  const ended = (session: string, message: string): StepUpOutcome => {
    endings.set(key(session), message)
    return { kind: 'ended', message }
  }
  /** A session with no step-up under way: why the last one ended, if it was not told yet. */
  const nothingPending = (session: string): StepUpOutcome => {
    const message = endings.get(key(session)) ?? ENDED.other
    endings.delete(key(session))
    return { kind: 'ended', message }
  }

  /** Turns a `check` answer into what the session sees; a success records the step-up. */
  const settle = (
    session: string,
    step: PendingStepUp,
    answer: Awaited<ReturnType<AccountHandle['check']>>,
  ): StepUpOutcome => {
    if (answer.result === 'pending')
      return step.method === 'pin'
        ? { kind: 'pin', message: null }
        : {
            kind: 'link',
            matchCode: step.matchCode,
            note:
              answer.delivery === 'failed'
                ? 'We are having trouble sending your email and keep trying.'
                : null,
          }
    // Asked too often (S19, S31): the step is still pending; the page polls again later.
    if (answer.result === 'rate limited')
      return step.method === 'pin'
        ? { kind: 'pin', message: 'Too many tries at once. Wait a moment and try again.' }
        : { kind: 'link', matchCode: step.matchCode, note: null }
    if (answer.result === 'security error' && answer.reason === 'wrong_pin')
      return { kind: 'pin', message: 'That code is not right. Check the latest email and try again.' }
    pending.delete(key(session))
    if (answer.result === 'authenticated') {
      passed.set(key(session), { authid: step.authid, at: now() })
      return { kind: 'done', action: step.action }
    }
    if (answer.result === 'expired') return ended(session, ENDED.expired)
    return ended(session, answer.reason === 'attempts_exhausted' ? ENDED.exhausted : ENDED.other)
  }

  return {
    /** Whether `authid` passed a step-up in this session within the last `STEP_UP_MS`. */
    isFresh(session: string, authid: string): boolean {
      const last = passed.get(key(session))
      return last !== undefined && last.authid === authid && now() - last.at < STEP_UP_MS
    },

    /** Sends the signed-in user a PIN or a link before `action` runs. */
    async begin(
      session: string,
      authid: string,
      action: string,
      context: RequestContext,
    ): Promise<StepUpOutcome> {
      const answer = await account.start({ system, authid, context: { ...context, action } })
      if (answer.result === 'rate limited')
        return { kind: 'ended', message: 'Too many codes were sent just now. Wait a minute and try again.' }
      if (answer.result === 'security error' || !answer.challengeId)
        // The user is signed in but cannot step up (not set up for it, disabled, locked): the operator must look.
        return {
          kind: 'ended',
          message: 'This action needs a second check that is not set up for you. Ask your administrator.',
        }
      const step: PendingStepUp = {
        authid,
        action,
        challengeId: answer.challengeId,
        method: answer.method,
        matchCode: answer.matchCode ?? null,
      }
      pending.set(key(session), step)
      endings.delete(key(session))
      return step.method === 'pin'
        ? { kind: 'pin', message: null }
        : { kind: 'link', matchCode: step.matchCode, note: null }
    },

    /** The PIN the user typed, checked against this session's step-up only. */
    async submitPin(session: string, pin: unknown, context: RequestContext): Promise<StepUpOutcome> {
      const step = pending.get(key(session))
      if (!step) return nothingPending(session)
      if (typeof pin !== 'string' || !/^\d{6,10}$/.test(pin.trim()))
        return { kind: 'pin', message: 'Type the digits from the email.' }
      const answer = await account.check({
        system,
        authid: step.authid,
        challengeId: step.challengeId,
        pin: pin.trim(),
        context,
      })
      return settle(session, step, answer)
    },

    /** One poll of a link step-up (the waiting page asks every 2 seconds). */
    async poll(session: string, context: RequestContext): Promise<StepUpOutcome> {
      const step = pending.get(key(session))
      if (!step) return nothingPending(session)
      const answer = await account.check({
        system,
        authid: step.authid,
        challengeId: step.challengeId,
        context,
      })
      return settle(session, step, answer)
    },

    /** On sign-out: nothing of this session's step-ups remains. */
    forget(session: string): void {
      pending.delete(key(session))
      passed.delete(key(session))
      endings.delete(key(session))
    },
  }
}

/** The step-ups' interface, for the app. */
export type StepUp = ReturnType<typeof createStepUp>

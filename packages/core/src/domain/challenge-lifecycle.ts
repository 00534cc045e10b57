import type { ChallengeStatus } from './model.js'

// The challenge lifecycle as one table: every move a challenge can make, the states it may make it
// from, the state it lands in, and the storage operation that makes it. Code that moves a challenge
// names its move here (`transitionTo('burnOneTimePin', …)`), so the states a move is allowed from are
// written once. docs/architecture.md ("How a login moves") shows the same table; a test holds them equal.

/** The storage operation that makes a move: each is one conditional write (or one transaction). */
export type MoveOperation = 'issueChallenge' | 'confirmLink' | 'transitionChallenge' | 'expireDue' | 'redeem'

/** One allowed move of a challenge. */
export interface ChallengeMove {
  /** The move happens only when the challenge is in one of these states. */
  readonly from: readonly [ChallengeStatus] | readonly [ChallengeStatus, ChallengeStatus]
  readonly to: ChallengeStatus
  readonly by: MoveOperation
  /** Whether this move tells a `check` caller the outcome (then `check` never answers it again). */
  readonly reported: boolean
  /** Start the attempt count again: a layer passed, and the next one gets the whole budget. */
  readonly resetAttempts?: true
}

/** A challenge still waiting for its user: a newer start supersedes it, time expires it. */
export const LIVE: readonly ['pending', 'confirmed'] = ['pending', 'confirmed']

/** Whether a challenge in `status` is live (see `LIVE`). */
export const isLive = (status: ChallengeStatus): boolean =>
  (LIVE as readonly ChallengeStatus[]).includes(status)

/** Every move a challenge can make. */
export const MOVES = {
  /** A newer start for the same user and system replaces the live challenge. */
  supersede: { from: LIVE, to: 'superseded', by: 'issueChallenge', reported: false },
  /** The link was opened and confirmed (with its match code, when it has one). */
  confirmLink: { from: ['pending'], to: 'confirmed', by: 'confirmLink', reported: false },
  /** The right one-time PIN when the memorized PIN is still to come: `confirmed` then waits for it. */
  passOneTimePin: {
    from: ['pending'],
    to: 'confirmed',
    by: 'transitionChallenge',
    reported: false,
    resetAttempts: true,
  },
  /** The right one-time PIN, and no layer after it. */
  acceptOneTimePin: { from: ['pending'], to: 'authenticated', by: 'transitionChallenge', reported: true },
  /** The right memorized PIN after the delivered layer. */
  acceptMemorizedPin: { from: ['confirmed'], to: 'authenticated', by: 'transitionChallenge', reported: true },
  /** A poll finds the link confirmed, with no layer after it. */
  acceptConfirmedLink: {
    from: ['confirmed'],
    to: 'authenticated',
    by: 'transitionChallenge',
    reported: true,
  },
  /** Same device: a completion code redeemed; the original device's `check` still hears it once. */
  redeemCompletion: { from: ['confirmed'], to: 'authenticated', by: 'redeem', reported: false },
  /** The last wrong one-time PIN (a keyed one's is made with its attempt, by `settlePinAttempt`). */
  burnOneTimePin: { from: ['pending'], to: 'failed', by: 'transitionChallenge', reported: true },
  /** The last wrong memorized PIN. */
  burnMemorizedPin: { from: ['confirmed'], to: 'failed', by: 'transitionChallenge', reported: true },
  /** The last wrong match code on the link's page; the poller hears it on its next `check`. */
  burnMatchCode: { from: ['pending'], to: 'failed', by: 'transitionChallenge', reported: false },
  /** The administrator turned the method off while the login waited. */
  endDisabledMethod: { from: LIVE, to: 'failed', by: 'transitionChallenge', reported: true },
  /** A `check` finds the challenge past its expiry. */
  expireOnCheck: { from: LIVE, to: 'expired', by: 'transitionChallenge', reported: true },
  /** The periodic sweep (`runDue`) finds it past its expiry before anyone asked. */
  sweepExpired: { from: LIVE, to: 'expired', by: 'expireDue', reported: false },
  /** The first `check` after a sweep hears `expired`, once. */
  reportExpired: { from: ['expired'], to: 'expired', by: 'transitionChallenge', reported: true },
  /** The first `check` after a burn away from check (match codes) hears it, once. */
  reportFailed: { from: ['failed'], to: 'failed', by: 'transitionChallenge', reported: true },
  /** The first `check` after a redeemed completion code hears `authenticated`, once. */
  reportAuthenticated: {
    from: ['authenticated'],
    to: 'authenticated',
    by: 'transitionChallenge',
    reported: true,
  },
} as const satisfies Record<string, ChallengeMove>

export type MoveName = keyof typeof MOVES

/** The moves made by `transitionChallenge`; the others have storage operations of their own. */
export type TransitionName = {
  [K in MoveName]: (typeof MOVES)[K]['by'] extends 'transitionChallenge' ? K : never
}[MoveName]

/** The conditional write of a named move of challenge `id` at `at`, in the shape `transitionChallenge` takes. */
export function transitionTo(name: TransitionName, id: string, at: number) {
  const move: ChallengeMove = MOVES[name]
  return {
    id,
    from: move.from,
    to: move.to,
    at,
    reported: move.reported,
    ...(move.resetAttempts ? { resetAttempts: true } : {}),
  }
}

import type { Channel, Method, SecurityReason } from './model.js'

/** What every challenge event carries. Never a secret (S26). */
export interface ChallengeEvent {
  readonly accountId: string
  readonly challengeId: string
  readonly system: string
  readonly authid: string
  readonly method: Method
  readonly at: Date
}

/** The engine's typed events, on an eventemitter3 emitter (`engine.events`). */
export interface EngineEvents {
  'challenge.started': (
    event: ChallengeEvent & { readonly channel: Channel; readonly expiresAt: Date },
  ) => void
  'challenge.confirmed': (event: ChallengeEvent) => void
  'challenge.authenticated': (event: ChallengeEvent) => void
  /** A check refused with a security error on a live challenge; `final` when it burned the challenge. */
  'challenge.failed': (
    event: ChallengeEvent & { readonly reason: SecurityReason; readonly final: boolean },
  ) => void
  'challenge.expired': (event: ChallengeEvent) => void
  /**
   * An attempt at a challenge's message: the provider accepted it (`sent`), refused it for now
   * (`failed`, a retry is scheduled), or for good (`abandoned`; a fallback may follow).
   */
  'challenge.delivery': (
    event: ChallengeEvent & {
      readonly channel: Channel
      readonly status: 'sent' | 'failed' | 'abandoned'
    },
  ) => void
  /** Same device: a confirmed link's browser was sent to the login's return URL with a completion code. */
  'completion.issued': (
    event: ChallengeEvent & { readonly returnUrl: string; readonly expiresAt: Date },
  ) => void
  /** Same device: the host's back end redeemed a completion code (once) for the login's identity. */
  'completion.redeemed': (event: Omit<ChallengeEvent, 'method'>) => void
}

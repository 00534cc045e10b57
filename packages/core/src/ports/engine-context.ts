import type { EventEmitter } from 'eventemitter3'
import type { EngineEvents } from '../domain/events.js'
import type { Predicate } from '../domain/model.js'
import type { AccountSettings } from '../domain/settings.js'
import type { Clock } from './clock.js'
import type { Decoys, LoginThrottle } from './login-guards.js'
import type { Notifier } from './notifier.js'
import type { PinHasher } from './pin-hasher.js'
import type { MemorizedPinHasher } from './pin-hashing.js'
import type { AuditDraft, DeliveryOutcome, DeliveryState, Storage } from './storage.js'

/** How the outbox retries. */
export interface OutboxSettings {
  /** How long a claimed delivery belongs to its dispatcher; longer than any notifier call may take. */
  readonly leaseMs: number
  /**
   * How long a notifier call may take before the attempt counts as failed (`unknown`, so retried): a
   * provider that never answers must not hold the claim past its lease, nor the outbox behind it. Less
   * than `leaseMs`; default half of it (30 s). A call that answers later may still have sent: the retry
   * then sends again (at least once).
   */
  readonly sendTimeoutMs: number
  /** Attempts before a delivery is abandoned (also abandoned when the next would fall past expiry). */
  readonly maxAttempts: number
  /** The shortest first retry; each later one doubles, up to `maxDelayMs`, then jittered. */
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /**
   * The share (percent) of a delivery's lifetime its attempts are spread over: the first retry's delay
   * is sized so that doubling from it, `maxAttempts` attempts end there. 0: from `baseDelayMs` alone.
   */
  readonly retryWindowPercent: number
  /**
   * How long closing the engine waits for sends still under way, so that their outcomes are written
   * (ms). A send still running then keeps its claim, and its message goes again once the claim lapses.
   */
  readonly closeWaitMs: number
}

/**
 * What a delivery's sealed payload holds: only what cannot be read again from the database, the
 * address as it was at start and the link or PIN. The message is composed again from the templates
 * for a retry; storing the composed text (and its HTML) would make every row span overflow pages.
 */
export interface OutboxPayload {
  readonly to: string
  /** The link or PIN the message carries. */
  readonly secret: string
}

/** AES-256-GCM under an HKDF key from the engine secret; the delivery id is bound as associated data. */
export interface PayloadCipher {
  seal(deliveryId: string, payload: OutboxPayload): string
  open(deliveryId: string, sealed: string): OutboxPayload
}

/**
 * Delivery outcomes written behind the send, in batches, so a login never waits
 * on a write of its own (`outbox/delivery-outcomes.ts`).
 */
export interface OutcomeQueue {
  /** Queues an outcome; it is written soon, with the others queued meanwhile. */
  record(queued: {
    readonly outcome: DeliveryOutcome
    readonly audit: readonly AuditDraft[]
    /** Called after the write, when the claim still held (the row moved). */
    readonly recorded: () => void
  }): void
  /** What a queued, not yet written outcome says of its delivery (for `check`), or undefined. */
  pending(deliveryId: string | null): DeliveryState | undefined
  /** A send under way (uniform mode's start does not wait for it), for closing to wait for. */
  track(sending: Promise<unknown>): void
  /** Resolves once no tracked send is under way (its outcome then queued, for `flush()` to write). */
  sendsEnded(): Promise<void>
  /** Resolves once everything queued so far is written (or has failed, logged). */
  flush(): Promise<void>
}

/** Where the engine reports what it cannot return: a failed delivery, a throwing event listener. */
export interface Logger {
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** What every part of the engine shares; built once by `createEngine`. */
export interface EngineContext {
  readonly storage: Storage
  /** Delivery outcomes written behind the send, in batches, off the login path. */
  readonly outcomes: OutcomeQueue
  readonly notifier: Notifier
  /** One-time PINs (S8: an HMAC under a key from the secret, or argon2id with `pinHashing`). */
  readonly hasher: PinHasher
  /** Memorized PINs (S8: argon2id over a peppered PIN). */
  readonly memorizedPins: MemorizedPinHasher
  readonly clock: Clock
  readonly events: EventEmitter<EngineEvents>
  readonly logger: Logger
  readonly linkUrl: (token: string) => string
  /** HMAC-SHA256 under a key derived from the engine secret: names a destination without revealing it. */
  readonly keyedDigest: (value: string) => string
  /** How the outbox retries, and how it seals message payloads at rest. */
  readonly outbox: OutboxSettings
  readonly payloads: PayloadCipher
  /** Custom rule conditions registered in code, by name. */
  readonly predicates: Readonly<Record<string, Predicate>>
  readonly predicateNames: ReadonlySet<string>
  /** Request and poll budgets, and the refusals counted instead of audited one by one (S19, S31). */
  readonly throttle: LoginThrottle
  /** Decoy challenges for refused starts in uniform mode (S20). */
  readonly decoys: Decoys
  /** The settings that apply to an account: its stored ones within the operator's ceilings (S18). */
  readonly effective: (settings: AccountSettings) => AccountSettings
  /** The engine secret first, then the ones it replaced (S33): derive sealing keys from the first only. */
  readonly keyring: readonly string[]
}

/** Emits after the state change is committed; a throwing listener is logged, never undoes the change. */
export function emit<K extends keyof EngineEvents>(
  ctx: EngineContext,
  name: K,
  event: Parameters<EngineEvents[K]>[0],
): void {
  try {
    ;(ctx.events.emit as (name: K, event: unknown) => boolean)(name, event)
  } catch (error) {
    ctx.logger.error('an engine event listener threw', { event: name, error: String(error) })
  }
}

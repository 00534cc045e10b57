import type { EventEmitter } from 'eventemitter3'
import type { Clock } from './clock.js'
import type { OutcomeQueue } from './delivery-outcomes.js'
import type { EngineEvents } from './events.js'
import type { Notifier } from './notifier.js'
import type { OutboxSettings, PayloadCipher } from './outbox.js'
import type { PinHasher } from './pin-hasher.js'
import type { Predicate } from './policy.js'
import type { Storage } from './storage.js'

/** Where the engine reports what it cannot return: a failed delivery, a throwing event listener. */
export interface Logger {
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** What every part of the engine shares; built once by `createEngine`. */
export interface EngineContext {
  readonly storage: Storage
  /** Delivery outcomes written behind the send, in batches (issue 16). */
  readonly outcomes: OutcomeQueue
  readonly notifier: Notifier
  readonly hasher: PinHasher
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

import type { Channel } from '../domain/model.js'

/** One message to one destination. It carries the secret in its text, so it is never stored or logged. */
export interface Message {
  readonly channel: Channel
  /** A validated, normalized destination: an email address or an E.164 phone number. */
  readonly to: string
  readonly subject?: string
  readonly text: string
  readonly html?: string
  readonly kind: 'link' | 'pin'
  readonly locale: string
  /** A stable id for deduplication by the provider: the delivery's id, the same on every retry. */
  readonly idempotencyKey: string
  /** The sender's display name, when the account or system sets one (email From name). */
  readonly fromName?: string
  /** The account the message is sent for, so a notifier can pick a sender per account. */
  readonly accountId?: string
}

/**
 * Delivers messages. Throw a `DeliveryError` typed `temporary` or `permanent` on failure.
 *
 * ```ts
 * const notifier: Notifier = { send: async (m) => ({ providerId: await mailer.send(m) }) }
 * ```
 */
export interface Notifier {
  send(message: Message): Promise<{ providerId: string | null }>
}

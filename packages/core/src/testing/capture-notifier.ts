import type { Message, Notifier } from '../ports/notifier.js'

/** A message as captured, with the secret it carries parsed out for the test. */
export interface CapturedMessage extends Message {
  readonly pin: string | null
  readonly link: string | null
  /** The link's token: its last path segment. */
  readonly token: string | null
}

/** A Notifier that keeps every message in memory, so tests and examples finish logins without a mailbox. */
export interface CaptureNotifier extends Notifier {
  readonly messages: readonly CapturedMessage[]
  /** The newest message, optionally the newest to `to`; throws when there is none. */
  last(to?: string): CapturedMessage
  /** Makes the next `send` throw `error` (a DeliveryError, say) instead of capturing. */
  failNext(error: Error): void
  clear(): void
}

const LINK = /https?:\/\/\S+\/v1\/links\/([A-Za-z0-9_-]+)/
const PIN = /\b(\d{6,10})\b/

/** Parses the link or PIN out of a message's text. */
export function parseSecret(message: Message): Pick<CapturedMessage, 'pin' | 'link' | 'token'> {
  const link = message.kind === 'link' ? LINK.exec(message.text) : null
  const pin = message.kind === 'pin' ? PIN.exec(message.text) : null
  return { link: link?.[0] ?? null, token: link?.[1] ?? null, pin: pin?.[1] ?? null }
}

/** Captures messages instead of delivering them. */
export function captureNotifier(): CaptureNotifier {
  const messages: CapturedMessage[] = []
  let failure: Error | null = null
  return {
    messages,
    async send(message) {
      if (failure) {
        const error = failure
        failure = null
        throw error
      }
      messages.push({ ...message, ...parseSecret(message) })
      return { providerId: `capture-${messages.length}` }
    },
    last(to) {
      const found = to === undefined ? messages.at(-1) : messages.findLast((m) => m.to === to)
      if (!found) throw new Error(to === undefined ? 'no message was sent' : `no message was sent to ${to}`)
      return found
    },
    failNext(error) {
      failure = error
    },
    clear() {
      messages.length = 0
    },
  }
}

import { DeliveryError, type Message, type Notifier } from '@flexsecure/core'

export interface ChatNotifierOptions {
  /** The chat's incoming webhook (Slack, Mattermost, Rocket.Chat). It holds a secret: keep it out of logs. */
  readonly url: string
  /**
   * Who a destination is in the chat (`alice@example.com` → `@alice`), or null when nobody is: that
   * message fails for good, without a request.
   */
  readonly recipient: (to: string) => string | null
  /** Milliseconds before a request is abandoned as a temporary failure. Default 10 000. */
  readonly timeoutMs?: number
  /** For tests and proxies. Default the global fetch. */
  readonly fetch?: typeof fetch
}

/**
 * Sends each message as a direct message in a team chat, through the chat's incoming webhook: a POST
 * of `{ channel: "@alice", text }`, which Slack-compatible webhooks accept. For staff tools whose
 * users live in the chat, and for staging, where nobody should get real mail.
 *
 * The Notifier contract: deliver the text unchanged (it carries the secret), answer the provider's
 * id or null (these webhooks answer `ok`, no id), and fail with a DeliveryError that says whether a
 * retry can help: a 408, 429, 5xx or a network failure is `temporary` (the outbox tries again
 * later); any other refusal (an unknown channel, a revoked webhook) is `permanent`. A failure's
 * message never quotes the text.
 *
 * ```ts
 * const notifier = chatNotifier({ url: process.env.CHAT_WEBHOOK_URL, recipient: (to) => `@${to.split('@')[0]}` })
 * ```
 */
export function chatNotifier(options: ChatNotifierOptions): Notifier {
  const post = options.fetch ?? fetch
  return {
    async send(message: Message) {
      const channel = options.recipient(message.to)
      if (channel === null) throw new DeliveryError('permanent', 'chat: no user for this destination')
      const text = message.subject ? `${message.subject}\n${message.text}` : message.text
      let response: Response
      try {
        response = await post(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel, text }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        })
      } catch (error) {
        // Refused, reset or timed out: the chat may be back in a minute.
        throw new DeliveryError('temporary', `chat unreachable: ${(error as Error)?.name ?? 'error'}`, {
          cause: error,
        })
      }
      if (response.ok) return { providerId: null }
      // Keep what the webhook answers only when it is an error code (`channel_not_found`): an answer
      // that quoted the message would put its secret in the outbox's last error.
      const answer = (await response.text().catch(() => '')).trim()
      const code = /^[\w.-]{1,64}$/.test(answer) ? answer : 'refused'
      const temporary = response.status === 408 || response.status === 429 || response.status >= 500
      throw new DeliveryError(temporary ? 'temporary' : 'permanent', `chat ${response.status}: ${code}`)
    },
  }
}

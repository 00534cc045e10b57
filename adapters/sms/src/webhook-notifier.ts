import { createHmac } from 'node:crypto'
import { DeliveryError, type Message, type Notifier } from '@flexsecure/core'
import { whyUnreachable } from './unreachable.js'

export interface WebhookNotifierOptions {
  /** Where each message is POSTed as JSON. */
  readonly url: string
  /** Extra headers, e.g. the gateway's API key. */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * The JSON body, from a template whose string values may hold `{{to}}`, `{{text}}`, `{{channel}}`,
   * `{{kind}}`, `{{locale}}` and `{{id}}`. Default `{ "to": "{{to}}", "text": "{{text}}" }`.
   */
  readonly body?: unknown
  /** Signs the body: header `x-flexsecure-signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
  readonly signingSecret?: string
  /** Where the provider's message id is read from in its JSON answer. Default `id`. */
  readonly idField?: string
  readonly fetch?: typeof fetch
  readonly timeoutMs?: number
  readonly now?: () => number
}

const FIELDS = ['to', 'text', 'channel', 'kind', 'locale', 'id'] as const

/** The template with every placeholder replaced; values are inserted as strings, never as JSON syntax. */
function render(template: unknown, message: Message): unknown {
  const values: Record<(typeof FIELDS)[number], string> = {
    to: message.to,
    text: message.text,
    channel: message.channel,
    kind: message.kind,
    locale: message.locale,
    id: message.idempotencyKey,
  }
  if (typeof template === 'string')
    return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
      name in values ? values[name as keyof typeof values] : whole,
    )
  if (Array.isArray(template)) return template.map((item) => render(item, message))
  if (template && typeof template === 'object')
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, render(value, message)]))
  return template
}

/**
 * Any HTTP gateway: POSTs a JSON body built from a template, with an `Idempotency-Key` per delivery
 * and an optional HMAC signature. 408, 429, 5xx and network failures are temporary; other 4xx permanent.
 *
 * ```ts
 * const sms = webhookNotifier({ url: 'https://sms.example/send', signingSecret: process.env.SMS_HOOK_SECRET })
 * ```
 */
export function webhookNotifier(options: WebhookNotifierOptions): Notifier {
  const template = options.body ?? { to: '{{to}}', text: '{{text}}' }
  const send = options.fetch ?? fetch
  const now = options.now ?? Date.now
  return {
    async send(message) {
      const body = JSON.stringify(render(template, message))
      const headers: Record<string, string> = {
        ...options.headers,
        'content-type': 'application/json',
        'idempotency-key': message.idempotencyKey,
      }
      if (options.signingSecret) {
        const t = Math.floor(now() / 1000)
        const v1 = createHmac('sha256', options.signingSecret).update(`${t}.${body}`).digest('hex')
        headers['x-flexsecure-signature'] = `t=${t},v1=${v1}`
      }
      let response: Response
      try {
        response = await send(options.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        })
      } catch (error) {
        throw new DeliveryError('temporary', `webhook unreachable: ${whyUnreachable(error)}`, {
          cause: error,
        })
      }
      if (response.ok) {
        const answer = (await response.json().catch(() => null)) as Record<string, unknown> | null
        const id = answer?.[options.idField ?? 'id']
        return { providerId: typeof id === 'string' || typeof id === 'number' ? String(id) : null }
      }
      const temporary = response.status === 408 || response.status === 429 || response.status >= 500
      throw new DeliveryError(temporary ? 'temporary' : 'permanent', `webhook answered ${response.status}`)
    },
  }
}

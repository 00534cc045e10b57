import { DeliveryError, type Message, type Notifier } from '@flexsecure/core'
import { whyUnreachable } from './unreachable.js'

export interface TwilioNotifierOptions {
  readonly accountSid: string
  readonly authToken: string
  /** A sending number (E.164) or alphanumeric sender, or else… */
  readonly from?: string
  /** …a Messaging Service that picks the sender. One of the two is required. */
  readonly messagingServiceSid?: string
  /** For tests and regional edges. Default https://api.twilio.com. */
  readonly baseUrl?: string
  readonly fetch?: typeof fetch
  /** Milliseconds before a request is abandoned as a temporary failure. Default 10 000. */
  readonly timeoutMs?: number
}

/** What Twilio's error body says, cut to its code and first line (it may quote the number, never the text). */
function describe(status: number, body: { code?: number; message?: string } | null): string {
  return `Twilio ${status}${body?.code ? ` error ${body.code}` : ''}: ${String(body?.message ?? 'no message')
    .split('\n')[0]
    ?.slice(0, 160)}`
}

/**
 * SMS through Twilio's Programmable Messaging REST API: a form-encoded POST to
 * `/2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth. 429 (error 20429), 5xx and
 * network failures are temporary; a refused number or credentials are permanent.
 *
 * ```ts
 * const sms = twilioNotifier({ accountSid, authToken, messagingServiceSid: 'MG…' })
 * ```
 */
export function twilioNotifier(options: TwilioNotifierOptions): Notifier {
  if (!options.from && !options.messagingServiceSid)
    throw new TypeError('twilioNotifier needs from or messagingServiceSid')
  const url = `${(options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`
  const send = options.fetch ?? fetch
  return {
    async send(message: Message) {
      if (message.channel !== 'sms')
        throw new DeliveryError('permanent', `Twilio delivers SMS, not ${message.channel}`)
      const form = new URLSearchParams({ To: message.to, Body: message.text })
      if (options.messagingServiceSid) form.set('MessagingServiceSid', options.messagingServiceSid)
      else form.set('From', options.from as string)
      let response: Response
      try {
        response = await send(url, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: form,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        })
      } catch (error) {
        throw new DeliveryError('temporary', `Twilio unreachable: ${whyUnreachable(error)}`, {
          cause: error,
        })
      }
      const body = (await response.json().catch(() => null)) as {
        sid?: string
        code?: number
        message?: string
      } | null
      if (response.ok && body?.sid) return { providerId: body.sid }
      // 429 (Twilio error 20429) is never processed and safe to retry; a 4xx such as 21211 (invalid
      // number), 21610 (opted out) or 20003 (credentials) will fail the same way every time.
      const temporary = response.status === 408 || response.status === 429 || response.status >= 500
      throw new DeliveryError(temporary ? 'temporary' : 'permanent', describe(response.status, body))
    },
  }
}

import { DeliveryError, type Message, type Notifier } from '@flexsecure/core'
import nodemailer from 'nodemailer'
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js'

export interface SmtpNotifierOptions {
  /**
   * nodemailer's SMTP options (host, port, secure, requireTLS, auth, pool, tls, …), or an `smtp://` URL.
   * Timeouts default to 10 s to connect and greet and 30 s of socket silence.
   */
  readonly transport: SMTPTransport.Options | string
  /** The sender: `"Acme sign-in" <auth@acme.example>`. */
  readonly from: string
  /** Where replies go, when not to the sender: `support@acme.example`. */
  readonly replyTo?: string
}

/** Connection-level failures: the server may be back in a moment. */
const TEMPORARY_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EGREETING',
])

/** S26: a provider's reply can echo the message; keep the status line only, capped. */
function reason(error: { response?: string; message?: string }): string {
  return String(error.response ?? error.message ?? 'unknown error')
    .split('\n')[0]
    ?.slice(0, 200) as string
}

/** 4xx replies and connection errors may succeed on retry; 5xx replies will not (RFC 5321 4.2.1). */
export function classifySmtpError(error: unknown): DeliveryError {
  const e = (error ?? {}) as { responseCode?: number; code?: string; response?: string; message?: string }
  const code = typeof e.responseCode === 'number' ? e.responseCode : null
  if (code !== null && code >= 500)
    return new DeliveryError('permanent', `SMTP ${reason(e)}`, { cause: error })
  if (code !== null && code >= 400)
    return new DeliveryError('temporary', `SMTP ${reason(e)}`, { cause: error })
  const temporary = e.code !== undefined && TEMPORARY_CODES.has(e.code)
  return new DeliveryError(temporary ? 'temporary' : 'permanent', `SMTP ${e.code ?? 'error'}: ${reason(e)}`, {
    cause: error,
  })
}

/** Upper bounds on one send: connect, greeting, and an idle socket. */
const SEND_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

/** An HTML part for a text-only message: escaped, its links made clickable, its lines kept. */
export function htmlFromText(text: string): string {
  const body = escapeHtml(text)
    .replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`)
    .replace(/\n/g, '<br>\n')
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;font-size:16px;line-height:1.5">${body}</body></html>`
}

/**
 * A Notifier that sends email over SMTP with nodemailer: multipart text and HTML, a stable
 * `Message-ID` per delivery (the same on its retries) for deduplication, and failures typed temporary (4xx, connection) or
 * permanent (5xx).
 *
 * ```ts
 * const notifier = smtpNotifier({ transport: 'smtps://user:pass@mail.example.com', from: 'Acme <auth@acme.example>' })
 * ```
 */
export function smtpNotifier(options: SmtpNotifierOptions): Notifier & { close(): void } {
  // A send must end well within the outbox's claim (60 s), or another process may send it again;
  // nodemailer's own defaults wait up to 2 minutes for a connection and 10 for a stalled socket.
  const transport: SMTPTransport.Options = {
    ...SEND_TIMEOUTS,
    ...(typeof options.transport === 'string' ? { url: options.transport } : options.transport),
  }
  const transporter = nodemailer.createTransport(transport)
  const address = /<([^>]+)>\s*$/.exec(options.from)?.[1] ?? options.from.trim()
  return {
    async send(message: Message) {
      if (message.channel !== 'email')
        throw new DeliveryError('permanent', `SMTP delivers email, not ${message.channel}`)
      try {
        const info = await transporter.sendMail({
          // A per-account or per-system sender name replaces the configured one; the address stays.
          from: message.fromName ? { name: message.fromName, address } : options.from,
          to: message.to,
          ...(options.replyTo ? { replyTo: options.replyTo } : {}),
          subject: message.subject ?? '',
          text: message.text,
          html: message.html ?? htmlFromText(message.text),
          messageId: `<${message.idempotencyKey}@flexsecure>`,
          headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
        })
        return { providerId: info.messageId ?? null }
      } catch (error) {
        throw classifySmtpError(error)
      }
    },
    close: () => transporter.close(),
  }
}

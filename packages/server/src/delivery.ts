import { readFileSync } from 'node:fs'
import { DeliveryError, type Message, type Notifier } from '@flexsecure/core'
import { consoleNotifier } from '@flexsecure/core/testing'
import { twilioNotifier, webhookNotifier } from '@flexsecure/sms'
import { smtpNotifier } from '@flexsecure/smtp'
import { ConfigError, SETTINGS, type ServerConfig } from './config.js'

/** A channel without a provider: fails as permanent, so the outbox tries the other channel (and audits it). */
const missing = (channel: string): Notifier => ({
  send: () => Promise.reject(new DeliveryError('permanent', `no ${channel} provider is configured`)),
})

/** Email through SMTP with the configured sender (per account where set), Reply-To and TLS options. */
function emailNotifier(config: ServerConfig, smtpUrl: string): Notifier {
  const tls = config.smtpTls
  const byAccount = config.mailFromByAccount ?? {}
  const notifierFor = (from: string) =>
    smtpNotifier({
      transport: {
        url: smtpUrl,
        ...(tls?.requireTls ? { requireTLS: true } : {}),
        tls: {
          rejectUnauthorized: tls?.rejectUnauthorized ?? true,
          ...(tls?.caFile ? { ca: readFileSync(tls.caFile, 'utf8') } : {}),
          ...(tls?.servername ? { servername: tls.servername } : {}),
        },
      },
      from,
      ...(config.mailReplyTo ? { replyTo: config.mailReplyTo } : {}),
    })
  const fallback = notifierFor(config.mailFrom)
  const senders = new Map(Object.entries(byAccount).map(([account, from]) => [account, notifierFor(from)]))
  return {
    send: (message: Message) =>
      ((message.accountId && senders.get(message.accountId)) || fallback).send(message),
  }
}

/**
 * The notifier the configuration describes: email through SMTP, SMS through Twilio or a signed webhook;
 * a channel without a provider fails as permanent. With neither, the development notifier prints every
 * message, which production mode refuses unless `allowConsoleNotifier` says otherwise (S32).
 */
export function deliveryFor(config: ServerConfig, say: (line: string) => void): Notifier {
  const sms = config.twilio ?? config.smsWebhook
  if (!config.smtpUrl && !sms) {
    if (config.production && !config.allowConsoleNotifier)
      throw new ConfigError(
        `production mode needs a real provider: set ${SETTINGS.smtpUrl.env} (email) or ${SETTINGS.twilioAccountSid.env} / ${SETTINGS.smsWebhookUrl.env} (SMS); ${SETTINGS.allowConsoleNotifier.env}=true starts anyway and prints every message`,
      )
    say('WARNING: no SMTP or SMS is configured. Messages (links and PINs) are PRINTED HERE, not delivered.')
    say('         This is for development only.')
    return consoleNotifier()
  }
  let email = missing('email')
  let text = missing('SMS')
  if (config.smtpUrl) {
    email = emailNotifier(config, config.smtpUrl)
    const url = new URL(config.smtpUrl)
    say(
      `Email goes out through SMTP at ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)} as ${config.mailFrom}.`,
    )
  }
  if (config.twilio) {
    const { accountSid, authToken, from, messagingServiceSid, baseUrl } = config.twilio
    text = twilioNotifier({
      accountSid,
      authToken,
      ...(from ? { from } : {}),
      ...(messagingServiceSid ? { messagingServiceSid } : {}),
      ...(baseUrl ? { baseUrl } : {}),
    })
    say(`SMS goes out through Twilio (account ${accountSid.slice(0, 6)}…).`)
  } else if (config.smsWebhook) {
    const hook = config.smsWebhook
    text = webhookNotifier({
      url: hook.url,
      headers: hook.headers,
      ...(hook.signingSecret ? { signingSecret: hook.signingSecret } : {}),
      ...(hook.body !== null && hook.body !== undefined ? { body: hook.body } : {}),
      ...(hook.idField ? { idField: hook.idField } : {}),
    })
    const where = new URL(hook.url)
    // The origin and path only: a gateway's token may ride in the query or the user part.
    say(
      `SMS goes out through the webhook ${where.origin}${where.pathname}${hook.signingSecret ? ', signed' : ''}.`,
    )
  }
  return { send: (message) => (message.channel === 'email' ? email : text).send(message) }
}

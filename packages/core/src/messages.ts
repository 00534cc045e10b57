import type { Channel, Method } from './model.js'
import type { Message } from './notifier.js'

/** What a message needs to say; the delivery issue adds templates, locales and sender names. */
export interface MessageInput {
  readonly method: Method
  readonly channel: Channel
  readonly to: string
  readonly systemName: string
  readonly challengeId: string
  readonly lifetimeMinutes: number
  readonly secret: { readonly link: string } | { readonly pin: string }
}

/** Composes the English message for a link or a PIN. The email subject never carries the code. */
export function composeMessage(input: MessageInput): Message {
  const base = { channel: input.channel, to: input.to, locale: 'en', idempotencyKey: input.challengeId }
  const minutes = `${input.lifetimeMinutes} minute${input.lifetimeMinutes === 1 ? '' : 's'}`
  if ('link' in input.secret) {
    const text = `Sign in to ${input.systemName}: ${input.secret.link}\nThe link works once, within ${minutes}. If you did not ask to sign in, ignore this message.`
    return input.channel === 'email'
      ? { ...base, kind: 'link', subject: `Sign in to ${input.systemName}`, text }
      : { ...base, kind: 'link', text: `${input.systemName} sign-in link: ${input.secret.link}` }
  }
  const text =
    input.channel === 'email'
      ? `Your ${input.systemName} code is ${input.secret.pin}\nIt works once, within ${minutes}. Never share it.`
      : `${input.secret.pin} is your ${input.systemName} code. Never share it.`
  return input.channel === 'email'
    ? { ...base, kind: 'pin', subject: `Your ${input.systemName} sign-in code`, text }
    : { ...base, kind: 'pin', text }
}

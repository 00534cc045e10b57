import type { Notifier } from '@flexsecure/core'

/**
 * Prints each message, link or PIN included, instead of delivering it. Only for development: the
 * server uses it when no SMTP or SMS is configured and says so loudly at start-up.
 */
export function consoleNotifier(
  write: (text: string) => void = (text) => process.stdout.write(text),
): Notifier {
  let sent = 0
  return {
    async send(message) {
      sent += 1
      const subject = message.subject ? `subject: ${message.subject}\n` : ''
      write(
        `\n--- development notifier: ${message.channel} to ${message.to} ---\n${subject}${message.text}\n---\n`,
      )
      return { providerId: `console-${sent}` }
    },
  }
}

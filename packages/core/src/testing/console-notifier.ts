import type { Notifier } from '../ports/notifier.js'

/**
 * Prints each message, link or PIN included, instead of delivering it: for development, in an app that
 * runs the engine in process or in the server, which uses it when no SMTP or SMS is configured and says
 * so loudly at start-up. Never in production: a link in a log signs its reader in.
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

/**
 * The URL with its password replaced by `***` (S32): for every URL the server prints, a database or
 * SMTP URL included. Text that is not a URL with credentials comes back unchanged.
 */
export function redactUrl(text: string): string {
  return text.replace(
    /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@/?#\s]*)@/gi,
    (_, user: string) => `${user}:***@`,
  )
}

// S26: a provider's error text is kept (in the delivery row, the audit and the log), and a provider may
// echo the message it refused: URL-encoded in a form body, JSON-escaped, as HTML, split by a
// quoted-printable soft line break, or base64 in a raw MIME part (wrapped at 76 columns). So the secret
// is looked for in each of those forms, not only as written.

const LINK_TOKEN = /\/v1\/links\/([A-Za-z0-9_-]{8,})/g
// A run of base64, across line breaks: a MIME part wraps it at 76 characters (RFC 2045), and a secret
// split over two lines is whole only once they are joined.
const BASE64_RUN = /[A-Za-z0-9+/_-]{4,}={0,2}(?:\r?\n[A-Za-z0-9+/_-]+={0,2})*/g
const MARK = '[redacted]'

/**
 * A provider's error text with every `secrets` entry (the link or PIN, the address) cut out in any
 * common encoding, decoded to plain text, free of control characters and cut to `max` characters.
 */
export function redactProviderError(text: string, secrets: readonly string[], max = 300): string {
  const needles = needlesOf(secrets)
  let safe = text
  // Decoding can reveal a further encoding (a JSON string holding a form body): peel a few layers.
  for (let layer = 0; layer < 4; layer++) {
    safe = cutBase64(cutLiterals(safe, needles), needles)
    const decoded = decodeOnce(safe)
    if (decoded === safe) break
    safe = decoded
  }
  safe = cutLiterals(safe, needles).replace(LINK_TOKEN, `/v1/links/${MARK}`)
  return cut(clean(safe), max)
}

/** Each secret, and the token inside a link, longest first so a link goes before its own token. */
function needlesOf(secrets: readonly string[]): string[] {
  const needles = new Set<string>()
  for (const secret of secrets) {
    if (secret.length < 4) continue
    needles.add(secret)
    for (const [, token] of secret.matchAll(LINK_TOKEN)) if (token) needles.add(token)
  }
  return [...needles].sort((a, b) => b.length - a.length)
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function cutLiterals(text: string, needles: readonly string[]): string {
  let safe = text
  // Case-insensitive: a provider may lower-case an address (or a whole message).
  for (const needle of needles) safe = safe.replace(new RegExp(escapeRegExp(needle), 'gi'), MARK)
  return safe
}

/**
 * A secret inside base64 shows as one of three strings, one per alignment of its first byte within a
 * 3-byte group; only the groups made wholly of the secret's bytes are certain, so those are sought,
 * and the whole base64 run that holds one is cut.
 */
function cutBase64(text: string, needles: readonly string[]): string {
  const cores: string[] = []
  for (const needle of needles) {
    const bytes = Buffer.from(needle)
    for (let skip = 0; skip < 3; skip++) {
      const whole = Math.floor((bytes.length - skip) / 3) * 3
      if (whole < 3) continue
      const core = bytes.subarray(skip, skip + whole).toString('base64')
      cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'))
    }
  }
  if (cores.length === 0) return text
  return text.replace(BASE64_RUN, (run) => {
    const joined = run.replace(/\r?\n/g, '')
    return cores.some((core) => joined.includes(core)) ? MARK : run
  })
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", sol: '/' }

/** One layer of percent, quoted-printable, JSON and HTML decoding; text that holds none comes back as is. */
function decodeOnce(text: string): string {
  return text
    .replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run)
      } catch {
        // Not UTF-8 as a whole: decode the ASCII bytes, which are all a token, a PIN or a link needs.
        return run.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) =>
          String.fromCharCode(Number.parseInt(hex, 16)),
        )
      }
    })
    .replace(/=\r?\n/g, '')
    .replace(/\\u([0-9A-Fa-f]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    .replace(/\\\//g, '/')
    .replace(/&#x([0-9A-Fa-f]{1,6});/g, (entity, hex: string) =>
      fromCodePoint(Number.parseInt(hex, 16), entity),
    )
    .replace(/&#(\d{1,7});/g, (entity, decimal: string) => fromCodePoint(Number(decimal), entity))
    .replace(/&(amp|lt|gt|quot|apos|sol);/g, (_, name: string) => ENTITIES[name] as string)
}

const fromCodePoint = (code: number, otherwise: string) =>
  code <= 0x10ffff ? String.fromCodePoint(code) : otherwise

/** No control characters (a decoded NUL would break PostgreSQL's text) and no lone surrogates. */
function clean(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
  )
}

/** At most `max` UTF-16 units, never ending in half a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text
  const head = text.slice(0, max)
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head
}

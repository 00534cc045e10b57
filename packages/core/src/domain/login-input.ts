import { ValidationError } from './errors.js'
import type { RequestContext } from './model.js'

const MAX_NAME = 256
const MAX_CONTEXT_KEYS = 32
const MAX_CONTEXT_VALUE = 1024
/** S35: the most a request context may take as JSON (UTF-8), all keys and values together. */
export const MAX_CONTEXT_BYTES = 4096
const utf8 = new TextEncoder()

/** A context's size as stored: its JSON in UTF-8 bytes. */
export function contextBytes(context: Readonly<Record<string, unknown>>): number {
  return utf8.encode(JSON.stringify(context)).length
}

/**
 * S30: free text holds no control character (C0, DEL, C1): NUL breaks PostgreSQL's text columns, and
 * CR/LF would reach message bodies and headers. Whole-string patterns, so the HTTP schemas (and the
 * OpenAPI document made from them) use the very same ones.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/
/** The same, for templates, which may break lines (CR and LF). */
export const NO_CONTROL_CHARACTERS_BUT_LINE_BREAKS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  /^[^\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/

/** Refuses a control character in `value` (line breaks too, unless `lineBreaks`); throws naming `field`. */
export function refuseControlCharacters(value: string, field: string, lineBreaks = false): string {
  if (!(lineBreaks ? NO_CONTROL_CHARACTERS_BUT_LINE_BREAKS : NO_CONTROL_CHARACTERS).test(value))
    throw new ValidationError(
      field,
      lineBreaks
        ? 'must not contain control characters other than line breaks'
        : 'must not contain control characters',
    )
  return value
}

/** A lone UTF-16 surrogate: storage would turn it into U+FFFD, and the audit MAC would no longer match. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

/** Refuses text that is not well-formed Unicode. */
export function requireWellFormed(value: string, field: string): string {
  if (LONE_SURROGATE.test(value)) throw new ValidationError(field, 'is not well-formed Unicode')
  return value
}

/** A system name or authid: a non-empty string of at most 256 characters without control characters. */
export function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string')
  if (value.length === 0 || value.length > MAX_NAME)
    throw new ValidationError(field, `must be 1 to ${MAX_NAME} characters long`)
  return requireWellFormed(refuseControlCharacters(value, field), field)
}

/** The request context of `start`: a flat map of at most 32 keys to strings, numbers or booleans. */
export function requireContext(value: unknown, field = 'context'): RequestContext | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(field, 'must be an object')
  const entries = Object.entries(value)
  if (entries.length > MAX_CONTEXT_KEYS)
    throw new ValidationError(field, `must have at most ${MAX_CONTEXT_KEYS} keys`)
  const context: Record<string, string | number | boolean> = Object.create(null)
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > 64)
      throw new ValidationError(field, 'keys must be 1 to 64 characters')
    if (key === '__proto__' || key === 'constructor' || key === 'prototype')
      throw new ValidationError(`${field}.${key}`, 'is not an allowed key')
    requireWellFormed(refuseControlCharacters(key, field), field)
    if (typeof item === 'string') {
      if (item.length > MAX_CONTEXT_VALUE)
        throw new ValidationError(`${field}.${key}`, `must be at most ${MAX_CONTEXT_VALUE} characters`)
      requireWellFormed(refuseControlCharacters(item, `${field}.${key}`), `${field}.${key}`)
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw new ValidationError(`${field}.${key}`, 'must be a finite number')
    } else if (typeof item !== 'boolean') {
      throw new ValidationError(`${field}.${key}`, 'must be a string, a number or a boolean')
    }
    context[key] = item
  }
  // 32 keys of 1024 characters each could store ~33 KB per challenge: the whole is capped too.
  if (contextBytes(context) > MAX_CONTEXT_BYTES)
    throw new ValidationError(field, `must take at most ${MAX_CONTEXT_BYTES} bytes as JSON (4 KiB)`)
  return { ...context }
}

/** Reads a string attribute of the context (`ip`, `userAgent`) for the audit, cut to what its column holds. */
export function contextString(
  context: Readonly<Partial<Record<'ip' | 'userAgent', unknown>>> | null,
  key: 'ip' | 'userAgent',
): string | null {
  const value = context?.[key]
  return typeof value === 'string' ? truncate(value, key === 'ip' ? 64 : 1024) : null
}

/**
 * At most `max` UTF-16 units, never ending in half a surrogate pair, and well-formed: the audit MAC is
 * computed over this text, and a database would store a lone surrogate as U+FFFD, breaking the chain.
 */
function truncate(value: string, max: number): string {
  let cut = value.length > max ? value.slice(0, max) : value
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1)
  return cut.replace(LONE_SURROGATES, '\uFFFD')
}

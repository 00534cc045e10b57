import { ValidationError } from './errors.js'
import type { RequestContext } from './model.js'

const MAX_NAME = 256
const MAX_CONTEXT_KEYS = 32
const MAX_CONTEXT_VALUE = 1024

/** A system name or authid: a non-empty string of at most 256 characters without control characters. */
export function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string')
  if (value.length === 0 || value.length > MAX_NAME)
    throw new ValidationError(field, `must be 1 to ${MAX_NAME} characters long`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new ValidationError(field, 'must not contain control characters')
  return value
}

/** The request context of `start`: a flat map of at most 32 keys to strings, numbers or booleans. */
export function requireContext(value: unknown): RequestContext | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError('context', 'must be an object')
  const entries = Object.entries(value)
  if (entries.length > MAX_CONTEXT_KEYS)
    throw new ValidationError('context', `must have at most ${MAX_CONTEXT_KEYS} keys`)
  const context: Record<string, string | number | boolean> = Object.create(null)
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > 64)
      throw new ValidationError('context', 'keys must be 1 to 64 characters')
    if (key === '__proto__' || key === 'constructor' || key === 'prototype')
      throw new ValidationError(`context.${key}`, 'is not an allowed key')
    if (typeof item === 'string') {
      if (item.length > MAX_CONTEXT_VALUE)
        throw new ValidationError(`context.${key}`, `must be at most ${MAX_CONTEXT_VALUE} characters`)
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw new ValidationError(`context.${key}`, 'must be a finite number')
    } else if (typeof item !== 'boolean') {
      throw new ValidationError(`context.${key}`, 'must be a string, a number or a boolean')
    }
    context[key] = item
  }
  return { ...context }
}

/** Reads a string attribute of the context (`ip`, `userAgent`) for the audit. */
export function contextString(context: RequestContext | null, key: string): string | null {
  const value = context?.[key]
  return typeof value === 'string' ? value : null
}

import {
  type AccountHandle,
  type ConsoleSession,
  type ConsoleSessions,
  type Engine,
  NotFoundError,
  ValidationError,
} from '@flexsecure/core'
import type { Context } from 'hono'
import type { JSX } from 'hono/jsx/jsx-runtime'
import type { ConsoleCookies, ConsoleTokens } from './console-cookies.js'
import type { FieldError } from './views/controls.js'
import type { PageContext } from './views/layout.js'

// What every console route shares: the Hono environment (the session of the request, and the
// account handle acting as its administrator) and the few operations every screen uses.

/** What the transport knows about the connection (as `@flexsecure/http` takes it). */
export interface ConnectionInfo {
  readonly remoteAddress?: string
}

/** The Hono environment of the console's routes. */
export type ConsoleEnv = {
  Bindings: { connection?: ConnectionInfo }
  Variables: {
    session: ConsoleSession | null
    token: string | null
    csrf: string | null
    /** The session's account, acting as its administrator (`console:<authid>` in the audit). */
    account: AccountHandle
  }
}

/** The context every console route receives. */
export type ConsoleContext = Context<ConsoleEnv>

/** A parsed form body. */
export interface Form {
  get(name: string): string | undefined
  all(name: string): string[]
  has(name: string): boolean
}

/** The console's shared parts, handed to each screen's routes. */
export interface ConsoleKit {
  readonly engine: Engine
  readonly sessions: ConsoleSessions
  readonly base: string
  readonly cookies: ConsoleCookies
  readonly tokens: ConsoleTokens
  readonly now: () => number
  /** The page context of this request, for the layout. */
  page(c: ConsoleContext): PageContext
  /** Renders a page with the status; pages are never cached. */
  render(c: ConsoleContext, node: JSX.Element, status?: number): Promise<Response>
  /** The request's form fields (URL-encoded, at most 64 KiB). */
  form(c: ConsoleContext): Promise<Form>
  /** A 303 to a console path, with an optional notice shown on arrival. */
  redirect(c: ConsoleContext, path: string, done?: string): Response
  /** The browser's address, for the audit and the session list. */
  clientAddress(c: ConsoleContext): string | undefined
  /**
   * For actions that need a fresh login (API keys, security settings): null when the session's login
   * is at most 5 minutes old; otherwise a redirect to the confirmation page, coming back to `back`.
   */
  requireFresh(c: ConsoleContext, back: string): Response | null
}

/** Bad form input: what a field must be. Pages show it beside the field. */
export class FormError extends Error {
  constructor(readonly errors: readonly FieldError[]) {
    super(errors.map((e) => e.message).join('; '))
  }
}

/**
 * Runs an engine call and turns a ValidationError into the form's errors (its field name mapped by
 * `fieldOf` to the form control), so the page can be shown again with the message beside the field.
 */
export async function attempt<T>(
  work: () => Promise<T>,
  fieldOf: (engineField: string) => string = (field) => field,
): Promise<{ ok: true; value: T } | { ok: false; errors: FieldError[] }> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    if (error instanceof FormError) return { ok: false, errors: [...error.errors] }
    // The message names the engine's field (`rules[1].when.ipIn[0]: …`), which says exactly what is wrong.
    if (error instanceof ValidationError)
      return {
        ok: false,
        errors: [{ field: fieldOf(error.field), message: error.message, detail: error.detail }],
      }
    if (error instanceof NotFoundError)
      return { ok: false, errors: [{ field: error.entity, message: error.message }] }
    throw error
  }
}

/** `key=value` lines (attributes, a context to try): numbers and booleans typed, the rest text. */
export function parseKeyValues(
  text: string | undefined,
  field: string,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [i, raw] of (text ?? '').split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '') continue
    const at = line.indexOf('=')
    if (at <= 0) throw new FormError([{ field, message: `${field}: line ${i + 1} is not key=value` }])
    const key = line.slice(0, at).trim()
    const value = line.slice(at + 1).trim()
    // A number only when it reads back as typed: `007`, `1.50` and digits past a double's precision
    // (a badge number) stay text, as they were meant.
    const number = Number(value)
    out[key] =
      value === 'true'
        ? true
        : value === 'false'
          ? false
          : Number.isFinite(number) && String(number) === value
            ? number
            : value
  }
  return out
}

/** The inverse of `parseKeyValues`, for showing a map in a textarea. */
export const keyValueLines = (map: Readonly<Record<string, string | number | boolean>>) =>
  Object.entries(map)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')

/** A whole number from a form field, or undefined when it is empty. */
export function wholeField(form: Form, name: string): number | undefined {
  const value = form.get(name)?.trim()
  if (value === undefined || value === '') return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed))
    throw new FormError([{ field: name, message: `${name}: must be a whole number` }])
  return parsed
}

/** Comma- or line-separated values of a field, trimmed, empty ones dropped. */
export const listField = (form: Form, name: string) =>
  (form.get(name) ?? '')
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean)

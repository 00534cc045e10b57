import { abortReason } from './delay.js'
import { FlexSecureHttpError } from './http-error.js'
import type { FetchLike } from './types.js'

/** A response whose body was read and parsed: `null` when it was empty. */
export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
}

/** One request to send; `path` starts with `/v1/` and its segments are already encoded. */
export interface Outgoing {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  readonly path: string
  /** `text` keeps a 2xx body as text (an export, the metrics); errors are still read as JSON. */
  readonly expect?: 'json' | 'text'
  readonly body?: unknown
  readonly query?: Readonly<Record<string, string | number | undefined>>
  readonly signal?: AbortSignal | undefined
}

/** Sends JSON requests to one FlexSecure server with one API key. */
export type Transport = (request: Outgoing) => Promise<Reply>

/** What a transport needs. */
export interface TransportOptions {
  readonly baseUrl: string | URL
  readonly apiKey: string
  readonly fetch?: FetchLike | undefined
  readonly userAgent?: string | undefined
}

/** The base URL without its trailing slashes; a path prefix is kept, a query or credentials refused. */
export function normalizeBaseUrl(baseUrl: string | URL): string {
  let url: URL
  try {
    url = new URL(String(baseUrl))
  } catch {
    throw new TypeError('baseUrl must be an absolute http(s) URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError('baseUrl must be an absolute http(s) URL')
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw new TypeError('baseUrl must not carry a query, a fragment or credentials')
  return url.href.replace(/\/+$/, '')
}

/** A path segment from a caller's value (a system name, an authid, a key id), percent-encoded. */
export function segment(what: string, value: string): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..')
    throw new TypeError(`${what} must be a non-empty string other than "." and ".."`)
  return encodeURIComponent(value)
}

/**
 * A transport over `fetch`. The key goes only in the `apikey` header; redirects are not followed,
 * so the header never reaches another host.
 */
export function createTransport(options: TransportOptions): Transport {
  const base = normalizeBaseUrl(options.baseUrl)
  const { apiKey, userAgent } = options
  if (typeof apiKey !== 'string' || apiKey.trim() === '' || /[\r\n]/.test(apiKey))
    throw new TypeError('apiKey must be a non-empty string')
  const send: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init))

  return async ({ method, path, body, query, signal, expect = 'json' }) => {
    const params = new URLSearchParams()
    for (const [name, value] of Object.entries(query ?? {}))
      if (value !== undefined) params.set(name, String(value))
    const search = params.toString() === '' ? '' : `?${params}`
    const where = `${method} ${path}`
    const headers: Record<string, string> = {
      accept: expect === 'json' ? 'application/json' : '*/*',
      apikey: apiKey,
    }
    if (userAgent !== undefined) headers['user-agent'] = userAgent
    const init: RequestInit = { method, headers, redirect: 'manual' }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    if (signal !== undefined) init.signal = signal

    if (signal?.aborted) throw abortReason(signal)
    let response: Response
    let text: string
    try {
      response = await send(`${base}${path}${search}`, init)
      text = await response.text()
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal)
      throw new FlexSecureHttpError(0, undefined, `${where}: no response from FlexSecure`, { cause: error })
    }
    if (text === '') return { status: response.status, headers: response.headers, body: null }
    if (expect === 'text' && response.ok)
      return { status: response.status, headers: response.headers, body: text }
    try {
      return { status: response.status, headers: response.headers, body: JSON.parse(text) }
    } catch {
      throw new FlexSecureHttpError(
        response.status,
        text,
        `${where}: ${response.status} with a body that is not JSON`,
      )
    }
  }
}

/** The error for a reply outside the contract, with what the body says about it. */
export function unexpectedReply(where: string, reply: Reply): FlexSecureHttpError {
  const body = reply.body
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
  const said = ['result', 'reason', 'field', 'error']
    // A server's error names its field first (`authid: is required`): not twice.
    .filter((key) => !(key === 'field' && String(fields.error).startsWith(`${fields.field}:`)))
    .map((key) => fields[key])
    .filter((value) => typeof value === 'string')
  return new FlexSecureHttpError(reply.status, body, [`${where}: ${reply.status}`, ...said].join(': '))
}

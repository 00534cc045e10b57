import { expect } from 'vitest'
import type { FetchLike } from './types.js'

/** The API key every test client holds. */
export const API_KEY = 'fsk_Test0Key0Of0Thirty0Two0Chars0xxxxx9Q2c'

/** Where every fake server lives. */
export const ORIGIN = 'https://auth.example.com'

/** One request the fake server expects, in order, and what it answers. */
export interface Exchange {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** Path and query after the base path, e.g. `/v1/admin/users?limit=5`. */
  readonly path: string
  /** The JSON body the request must carry; omitted means no body at all. */
  readonly body?: unknown
  readonly status?: number
  /** A JSON answer; `text` sends a raw one instead. */
  readonly json?: unknown
  readonly text?: string
  readonly headers?: Readonly<Record<string, string>>
  /** Fail like a dead network instead of answering. */
  readonly fail?: Error
  /** Never answer; reject only when the request's signal aborts. */
  readonly hang?: boolean
}

/** A fetch that plays a script of exchanges and asserts each request it gets. */
export interface FakeServer {
  readonly fetch: FetchLike
  /** How many requests arrived. */
  readonly received: () => number
}

const problems: unknown[] = []
const scripts: { left: Exchange[] }[] = []

/**
 * A fetch for tests: asserts method, URL, headers (the key in `apikey`, never in the URL) and JSON
 * body of each request against the next exchange, then answers with its canned response.
 */
export function fakeServer(exchanges: readonly Exchange[], basePath = ''): FakeServer {
  const script = { left: [...exchanges] }
  scripts.push(script)
  let received = 0
  const fetch: FetchLike = async (url, init) => {
    received++
    const exchange = script.left.shift()
    try {
      expect(exchange, `an unscripted request: ${init.method} ${url}`).toBeDefined()
      const target = new URL(url)
      const headers = new Headers(init.headers)
      expect(`${init.method} ${target.origin}${target.pathname}${target.search}`).toBe(
        `${exchange?.method} ${ORIGIN}${basePath}${exchange?.path}`,
      )
      expect(url).not.toContain(API_KEY)
      expect(headers.get('apikey')).toBe(API_KEY)
      const elsewhere: string[] = []
      headers.forEach((value, name) => {
        if (name !== 'apikey' && value.includes(API_KEY)) elsewhere.push(name)
      })
      expect(elsewhere, 'the key in another header').toEqual([])
      expect(headers.get('accept')).toBe('application/json')
      expect(init.redirect).toBe('manual')
      if (exchange?.body === undefined) {
        expect(init.body).toBeUndefined()
        expect(headers.get('content-type')).toBeNull()
      } else {
        expect(headers.get('content-type')).toBe('application/json')
        expect(JSON.parse(String(init.body))).toEqual(exchange.body)
      }
    } catch (error) {
      problems.push(error)
      throw error
    }
    if (exchange === undefined) throw new Error('unreachable: asserted above')
    const { signal } = init
    if (signal?.aborted) throw signal.reason
    if (exchange.fail !== undefined) throw exchange.fail
    if (exchange.hang === true)
      return new Promise<Response>((_, reject) =>
        signal?.addEventListener('abort', () => reject(signal.reason)),
      )
    const text = exchange.text ?? (exchange.json === undefined ? null : JSON.stringify(exchange.json))
    return new Response(text, {
      status: exchange.status ?? 200,
      headers: { ...(text !== null && { 'content-type': 'application/json' }), ...exchange.headers },
    })
  }
  return { fetch, received: () => received }
}

/** For `afterEach`: no request broke an assertion (even one the client caught) and every exchange was used. */
export function expectScriptsPlayed(): void {
  const found = problems.splice(0)
  const unused = scripts.splice(0).flatMap((script) => script.left)
  expect(found).toEqual([])
  expect(unused).toEqual([])
}

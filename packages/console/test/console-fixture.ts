// A console on a real engine (SQLite in memory, an injected clock, the capturing notifier) and a
// browser-like client with a cookie jar, for the console's request tests.
import { CONSOLE_SYSTEM } from '@flexsecure/core'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../adapters/sqlite/test/engine-fixture.js'
import { createConsole } from '../src/index.js'

export const ORIGIN = 'http://console.test'

/** A client that keeps cookies like a browser and sends forms like one. */
export function browserClient(fetcher: (request: Request) => Promise<Response>) {
  const jar = new Map<string, string>()
  const remember = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = (pair ?? '').indexOf('=')
      const name = (pair ?? '').slice(0, at)
      const value = (pair ?? '').slice(at + 1)
      if (/max-age=0/i.test(line) || value === '') jar.delete(name)
      else jar.set(name, value)
    }
  }
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  const send = async (
    method: string,
    path: string,
    body?: Record<string, string | string[]>,
    headers: Record<string, string> = {},
  ) => {
    const form = new URLSearchParams()
    for (const [key, value] of Object.entries(body ?? {}))
      for (const item of [value].flat()) form.append(key, item)
    const response = await fetcher(
      new Request(`${ORIGIN}${path}`, {
        method,
        headers: {
          ...(jar.size > 0 ? { cookie: cookieHeader() } : {}),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...headers,
        },
        ...(body ? { body: form.toString() } : {}),
      }),
    )
    remember(response)
    return {
      status: response.status,
      location: response.headers.get('location'),
      headers: response.headers,
      text: await response.text(),
    }
  }
  return {
    jar,
    get: (path: string, headers?: Record<string, string>) => send('GET', path, undefined, headers),
    post: (path: string, body: Record<string, string | string[]>, headers?: Record<string, string>) =>
      send('POST', path, body, headers),
  }
}

/** The value of a hidden input named `name` in a page. */
export function hidden(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`no ${name} field on the page`)
  return match[1] as string
}

export async function consoleFixture(options: { sessions?: { idleMs?: number; absoluteMs?: number } } = {}) {
  const f: EngineFixture = await engineFixture()
  const console = createConsole({
    engine: f.engine,
    secret: TEST_SECRET,
    now: () => f.clock.now(),
    ...(options.sessions ? { sessions: options.sessions } : {}),
  })
  const fetcher = (request: Request) => console.fetch(request, { remoteAddress: '198.51.100.20' })

  /** Signs `authid` in through the console's pages, confirming the emailed link with its code. */
  const signIn = async (authid: string, accountId = f.acme.id, client = browserClient(fetcher)) => {
    const form = await client.get('/console/sign-in')
    const sent = await client.post('/console/sign-in', {
      _form: hidden(form.text, '_form'),
      authid,
      account: accountId,
    })
    if (sent.location !== '/console/sign-in/wait') throw new Error(`sign-in: ${sent.status}`)
    const wait = await client.get('/console/sign-in/wait')
    const code = /class="code">(\d{3})</.exec(wait.text)?.[1]
    const message = f.notifier.last()
    await f.engine.links.confirm(message.token ?? '', code ? { matchCode: code } : {})
    const done = await client.post('/console/sign-in/continue', { _form: hidden(wait.text, '_form') })
    if (done.status !== 303) throw new Error(`continue: ${done.status} ${done.text}`)
    const overview = await client.get('/console/')
    return { client, csrf: hidden(overview.text, '_csrf') }
  }

  return { ...f, console, fetcher, signIn, client: () => browserClient(fetcher), CONSOLE_SYSTEM }
}

export type ConsoleFixture = Awaited<ReturnType<typeof consoleFixture>>

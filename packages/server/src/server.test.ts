import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The real server, as `flexsecure serve` runs it, on a free port, called with the typed client and
// with plain fetch; the confirm page is used the way a browser would use it.

const packageDir = new URL('..', import.meta.url).pathname
let dir: string
let server: ChildProcess
let output = ''
let url: string
let adminKey: string
let authKey: string

/** Resolves once the server's output matches `pattern` (the output so far included). */
function waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server never printed ${pattern}; it said:\n${output}`)),
      timeoutMs,
    )
    const look = () => {
      const match = output.match(pattern)
      if (!match) return
      clearTimeout(timer)
      server.stdout?.off('data', look)
      resolve(match)
    }
    server.stdout?.on('data', look)
    look()
  })
}

/** The newest message the development notifier printed to `to` after `since` characters of output. */
async function messageTo(to: string, since: number): Promise<string> {
  const pattern = new RegExp(
    `--- development notifier: \\w+ to ${to.replace(/[.+]/g, '\\$&')} ---\\n([\\s\\S]*?)\\n---`,
  )
  for (let i = 0; i < 100; i++) {
    const match = output.slice(since).match(pattern)
    if (match) return match[1] as string
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no message to ${to}`)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-server-'))
  server = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: packageDir,
    env: { ...process.env, FLEXSECURE_DB: join(dir, 'flexsecure.db'), FLEXSECURE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout?.on('data', (chunk) => {
    output += chunk
  })
  server.stderr?.on('data', (chunk) => {
    output += chunk
  })
  url = (await waitFor(/listening on (http:\/\/[\d.:]+)/))[1] as string
  adminKey = (await waitFor(/admin key: (fsk_\w+)/))[1] as string
  authKey = (await waitFor(/auth key: {2}(fsk_\w+)/))[1] as string
}, 30_000)

afterAll(async () => {
  if (server.exitCode === null) server.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

describe('flexsecure serve', () => {
  it('says loudly that messages are printed, not delivered, and prints how to call it', () => {
    expect(output).toContain('no SMTP or SMS is configured')
    expect(output).toContain(
      `curl -s -X POST ${url}/v1/start -H 'content-type: application/json' -H 'apikey: ${authKey}'`,
    )
  })

  it('completes a passwordless login: the client polls while a browser confirms the link page', async () => {
    const client = createClient({ baseUrl: url, apiKey: authKey })
    const since = output.length
    const pending: string[] = []
    let firstPoll: () => void = () => {}
    const polled = new Promise<void>((resolve) => {
      firstPoll = resolve
    })
    const login = client.authenticate({
      system: 'demo',
      authid: 'demo',
      intervalMs: 100,
      jitter: 0,
      onPending: (answer) => {
        pending.push(answer.result)
        firstPoll()
      },
    })
    const text = await messageTo('demo@example.com', since)
    await polled
    const link = /(http:\/\/localhost:\d+\/v1\/links\/[\w-]{32})/.exec(text)?.[1] as string
    // The link's host comes from configuration; the test reaches the same server at its listening address.
    const page = link.replace(/^http:\/\/localhost:\d+/, url)
    const shown = await fetch(page)
    const html = await shown.text()
    expect(shown.status).toBe(200)
    expect(html).toContain('Sign in to demo?')
    const form = /name="form" value="([^"]+)"/.exec(html)?.[1] as string
    const confirmed = await fetch(page, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ form }),
    })
    expect(await confirmed.text()).toContain('You are signed in')
    expect(await login).toMatchObject({ result: 'authenticated' })
    expect(pending[0]).toBe('pending')
  }, 30_000)

  it('completes a PIN login with plain fetch, the PIN sent as a JSON number', async () => {
    const call = (path: string, body: unknown, key = authKey) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: key },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
    const admin = createClient({ baseUrl: url, apiKey: adminKey }).admin
    await admin.users.create({ authid: 'pat', email: 'pat@example.com' })
    await admin.users.assign('pat', [{ system: 'demo', method: 'pin' }])
    const since = output.length
    expect((await call('/v1/start', { system: 'demo', authid: 'pat' })).status).toBe(200)
    const pin = /\b(\d{8})\b/.exec(await messageTo('pat@example.com', since))?.[1] as string
    const pending = await call('/v1/check', { system: 'demo', authid: 'pat' })
    expect([pending.status, (await pending.json()).result]).toEqual([202, 'pending'])
    const done = await call('/v1/check', `{"system":"demo","authid":"pat","pin":${Number(pin)}}`)
    expect([done.status, (await done.json()).result]).toEqual([200, 'authenticated'])
    const again = await call('/v1/check', { system: 'demo', authid: 'pat', pin })
    expect([again.status, await again.json()]).toEqual([
      403,
      { result: 'security error', reason: 'no_pending_challenge' },
    ])
  }, 30_000)

  it('shows both logins in the audit trail through the admin API, and the chain verifies', async () => {
    const admin = createClient({ baseUrl: url, apiKey: adminKey }).admin
    const { events } = await admin.audit.list({ type: 'challenge.checked', outcome: 'authenticated' })
    expect(events.map((e) => e.authid).sort()).toEqual(['demo', 'pat'])
    const confirmations = await admin.audit.list({ type: 'link.confirmed' })
    expect(confirmations.events).toHaveLength(1)
    // S25: the confirming browser's address, as the server's socket saw it (this test's loopback).
    expect(confirmations.events[0]?.ip).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/)
    const verify = await fetch(`${url}/v1/admin/audit/verify`, { headers: { apikey: adminKey } })
    expect(await verify.json()).toMatchObject({ ok: true })
  })

  it('stops on SIGTERM after closing the database, with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
    server.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(output).toContain('Stopped.')
  }, 15_000)
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import type { RunningApp } from '@flexsecure/example-shared'
import { formToken, httpBrowser } from '@flexsecure/example-shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServeProcess, startServe } from '../../../packages/server/test/serve-process.js'
import { serve } from './app.js'

// The real `flexsecure serve` in a child process, the app in this one, talking over HTTP: what a
// deployment with a separate FlexSecure server looks like.

let dir: string
let server: ServeProcess
let app: RunningApp

/** The newest link the server's development notifier printed for `to`. */
async function linkFor(to: string): Promise<URL> {
  const pattern = new RegExp(
    `development notifier: email to ${to.replace('.', '\\.')} ---\\n[\\s\\S]*?(https?://\\S+/v1/links/[\\w-]+)`,
    'g',
  )
  for (let i = 0; i < 200; i++) {
    const link = [...server.output().matchAll(pattern)].at(-1)?.[1]
    if (link) return new URL(link)
    await new Promise((resolve) => setTimeout(resolve, 25)) // waiting for the child's output, not for time to pass
  }
  throw new Error(`no link for ${to}:\n${server.output()}`)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-client-example-'))
  server = await startServe({ FLEXSECURE_DB: join(dir, 'flexsecure.db') })
  // The operator's one-time setup, through the admin API: the app's system and a user.
  const admin = createClient({ baseUrl: server.url, apiKey: server.adminKey }).admin
  await admin.systems.create({ name: 'web', policies: { passwordless: { enabled: true } } })
  await admin.users.create({ authid: 'alice', email: 'alice@example.com' })
  await admin.users.assign('alice', [{ system: 'web', method: 'passwordless' }])
  app = await serve({
    flexsecure: createClient({ baseUrl: server.url, apiKey: server.authKey }),
    system: 'web',
    port: 0,
  })
}, 60_000)

afterAll(async () => {
  await app?.close()
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('the client example, against the real server', { timeout: 30_000 }, () => {
  it('signs alice in: start and check over HTTP, the link page on the server, the session on the app', async () => {
    const browser = httpBrowser(app.url)
    expect(await browser.post('/login', { authid: 'alice' })).toMatchObject({
      status: 303,
      location: '/login/wait',
    })
    expect((await browser.get('/login/wait')).text).toContain('Check your email')
    expect(JSON.parse((await browser.get('/login/status')).text)).toEqual({ state: 'waiting', note: null })

    const link = await linkFor('alice@example.com')
    // The link points at the server (its base URL), not at the app.
    expect(link.pathname).toMatch(/^\/v1\/links\//)
    const phone = httpBrowser(server.url)
    const page = await phone.get(link.pathname)
    expect((await phone.post(link.pathname, { form: formToken(page.text) })).text).toContain(
      'You are signed in',
    )

    expect(JSON.parse((await browser.get('/login/status')).text)).toEqual({ location: '/' })
    expect(browser.cookies.has('session')).toBe(true)
    expect((await browser.get('/')).text).toContain('Signed in as <strong id="user">alice')
    // The app serves no link pages of its own here.
    expect((await browser.get(link.pathname)).status).toBe(404)
  })

  it('shows the user one refusal for an unknown name, as in process', async () => {
    const refused = await httpBrowser(app.url).post('/login', { authid: 'mallory' })
    expect([refused.status, refused.text]).toEqual([
      403,
      expect.stringContaining('We could not send a sign-in link'),
    ])
  })
})

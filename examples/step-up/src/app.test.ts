import type { Engine } from '@flexsecure/core'
import {
  type CaptureNotifier,
  captureNotifier,
  type ManualClock,
  manualClock,
} from '@flexsecure/core/testing'
import { openExampleEngine, type RunningApp } from '@flexsecure/example-shared'
import { formToken, type HttpBrowser, httpBrowser, TEST_SECRET } from '@flexsecure/example-shared/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { serve } from './app.js'
import { examplePasswords, seedStepUp } from './seed.js'

const MINUTE = 60_000
let app: RunningApp
let engine: Engine
let clock: ManualClock
let notifier: CaptureNotifier

beforeEach(async () => {
  clock = manualClock(Date.now())
  notifier = captureNotifier()
  let url = ''
  const opened = await openExampleEngine({
    filename: ':memory:',
    secret: TEST_SECRET,
    appUrl: () => url,
    notifier,
    clock,
    seed: seedStepUp,
  })
  engine = opened.engine
  app = await serve({ ...opened, secret: TEST_SECRET, passwords: examplePasswords(), clock, port: 0 })
  url = app.url
}, 30_000)
afterEach(async () => {
  await app.close()
  await engine.close()
})

/** A browser signed in with the app's own password. */
async function signedIn(username: string, password: string): Promise<HttpBrowser> {
  const browser = httpBrowser(app.url)
  expect(await browser.post('/login', { username, password })).toMatchObject({ status: 303, location: '/' })
  return browser
}
const alice = () => signedIn('alice', 'correct horse battery staple')

// Each test is many real HTTP round trips; on a shared machine they may take seconds.
describe('the step-up example', { timeout: 30_000 }, () => {
  it('keeps its own password login: a wrong password signs nobody in, and FlexSecure is not asked', async () => {
    const browser = httpBrowser(app.url)
    const wrong = await browser.post('/login', { username: 'alice', password: 'guess' })
    expect([wrong.status, wrong.text]).toEqual([401, expect.stringContaining('Wrong user name or password')])
    expect(await browser.post('/export', {})).toMatchObject({ status: 303, location: '/login' })
    expect((await alice().then((b) => b.get('/'))).text).toContain('Signed in as <strong id="user">alice')
    expect(notifier.messages).toEqual([])
  })

  it('runs the export only after alice types the one-time PIN, then for 5 minutes without asking', async () => {
    const browser = await alice()
    expect(await browser.post('/export', {})).toMatchObject({ status: 303, location: '/step-up' })
    expect((await browser.get('/step-up')).text).toContain('Code from the email')
    const { pin } = notifier.last('alice@example.com')
    const wrong = await browser.post('/step-up', { pin: pin === '00000000' ? '11111111' : '00000000' })
    expect([wrong.status, wrong.text]).toEqual([400, expect.stringContaining('That code is not right')])
    expect(await browser.post('/step-up', { pin: pin as string })).toMatchObject({
      status: 303,
      location: '/?verified=1',
    })

    const exported = await browser.post('/export', {})
    expect([exported.status, exported.text]).toEqual([200, expect.stringContaining('Exported 3 rows')])
    clock.advance(4 * MINUTE)
    expect((await browser.post('/export', {})).status).toBe(200)
    expect(notifier.messages).toHaveLength(1)
    clock.advance(2 * MINUTE)
    expect(await browser.post('/export', {})).toMatchObject({ status: 303, location: '/step-up' })
    expect(notifier.messages).toHaveLength(2)
  })

  it('lets bob step up with a link confirmed elsewhere, the waiting page polling the app', async () => {
    const browser = await signedIn('bob', 'bob has a long password too')
    await browser.post('/export', {})
    const waiting = await browser.get('/step-up')
    expect(waiting.text).toContain('data-poll="/step-up/status"')
    expect(JSON.parse((await browser.get('/step-up/status')).text)).toEqual({ state: 'waiting', note: null })

    const link = new URL(notifier.last('bob@example.com').link as string)
    expect(link.origin).toBe(app.url)
    const phone = httpBrowser(link.origin)
    const page = await phone.get(link.pathname)
    expect((await phone.post(link.pathname, { form: formToken(page.text) })).text).toContain(
      'You are signed in',
    )

    expect(JSON.parse((await browser.get('/step-up/status')).text)).toEqual({ location: '/?verified=1' })
    expect((await browser.post('/export', {})).text).toContain('Exported 3 rows')
  })

  it('tells bob his link step-up expired, after the waiting page’s poll found out', async () => {
    const browser = await signedIn('bob', 'bob has a long password too')
    await browser.post('/export', {})
    clock.advance(11 * MINUTE)
    expect(JSON.parse((await browser.get('/step-up/status')).text)).toEqual({ location: '/step-up' })
    const page = await browser.get('/step-up')
    expect([page.status, page.text]).toEqual([403, expect.stringContaining('The step-up expired')])
    expect((await browser.get('/step-up')).text).toContain('could not be completed') // told once
  })

  it('binds a step-up to its session: alice’s other session cannot use the PIN, nor ride the pass', async () => {
    const laptop = await alice()
    const tablet = await alice()
    await laptop.post('/export', {})
    const { pin } = notifier.last('alice@example.com')
    const stolen = await tablet.post('/step-up', { pin: pin as string })
    expect([stolen.status, stolen.text]).toEqual([403, expect.stringContaining('could not be completed')])
    expect(await laptop.post('/step-up', { pin: pin as string })).toMatchObject({ status: 303 })
    expect((await laptop.post('/export', {})).status).toBe(200)
    clock.advance(MINUTE) // past the 30 s resend cooldown
    expect(await tablet.post('/export', {})).toMatchObject({ status: 303, location: '/step-up' })
  })

  it('says the step-up expired when the PIN comes too late, and runs nothing', async () => {
    const browser = await alice()
    await browser.post('/export', {})
    clock.advance(11 * MINUTE)
    const late = await browser.post('/step-up', { pin: notifier.last().pin as string })
    expect([late.status, late.text]).toEqual([403, expect.stringContaining('expired')])
    expect(await browser.post('/export', {})).toMatchObject({ status: 303, location: '/step-up' })
  })

  it('completes a step-up only in the session that asked: no same-device return route', async () => {
    // A step-up guards an action of one signed-in session; another browser has nothing to complete.
    expect((await (await alice()).get('/auth/return?code=anything')).status).toBe(404)
  })

  it('forgets the step-up on sign-out', async () => {
    const browser = await alice()
    await browser.post('/export', {})
    await browser.post('/step-up', { pin: notifier.last().pin as string })
    await browser.post('/logout', {})
    clock.advance(MINUTE) // past the 30 s resend cooldown
    const again = await alice()
    expect(await again.post('/export', {})).toMatchObject({ status: 303, location: '/step-up' })
  })
})

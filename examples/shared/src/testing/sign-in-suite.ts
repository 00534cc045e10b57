import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RunningApp, ServeOptions } from '../sign-in-app.js'
import { type Answer, formToken, type HttpBrowser, httpBrowser } from './http-browser.js'
import { type SignInHarness, startSignInHarness } from './sign-in-harness.js'

// Every sign-in example (Express, Hono, Fastify) passes this suite over real HTTP: same routes, same
// cookies, same answers. Each example's own test runs it against its `serve`.

const MINUTE = 60_000

/** The attributes of the cookie `name` as set by this response, lower-cased, or null when not set. */
function cookieAttributes(answer: Answer, name: string): string[] | null {
  const line = answer.setCookies.find((cookie) => cookie.startsWith(`${name}=`))
  return line ? line.split(';').map((part) => part.trim().toLowerCase()) : null
}

/** Opens a link the way a second device would: its own cookies, the page, then the form with `code`. */
async function confirmLink(
  link: string,
  code: string | null,
  phone: HttpBrowser = httpBrowser(new URL(link).origin),
): Promise<Answer> {
  const page = await phone.get(new URL(link).pathname)
  expect(page.status).toBe(200)
  return phone.post(new URL(link).pathname, {
    form: formToken(page.text),
    ...(code !== null ? { code } : {}),
  })
}

/** The match code on the waiting page. */
function matchCode(waiting: Answer): string {
  const code = /id="match-code">(\d{3})</.exec(waiting.text)?.[1]
  if (!code) throw new Error(`no match code on the waiting page:\n${waiting.text}`)
  return code
}

/** The sign-in suite for one framework's `serve`. */
export function describeSignInApp(name: string, serve: (options: ServeOptions) => Promise<RunningApp>): void {
  // Each test is many real HTTP round trips; on a shared machine they may take seconds.
  describe(`the ${name} sign-in example`, { timeout: 30_000 }, () => {
    let h: SignInHarness
    let browser: HttpBrowser
    beforeEach(async () => {
      h = await startSignInHarness(serve)
      browser = httpBrowser(h.app.url)
    }, 30_000)
    afterEach(async () => {
      await h.close()
    })

    /** Submits the sign-in form as `authid` and follows to the waiting page. */
    const startSignIn = async (as: HttpBrowser, authid: string) => {
      const submitted = await as.post('/login', { authid })
      expect([submitted.status, submitted.location]).toEqual([303, '/login/wait'])
      const waiting = await as.get('/login/wait')
      expect(waiting.status).toBe(200)
      return { submitted, waiting, code: matchCode(waiting) }
    }
    const status = async (as: HttpBrowser) => JSON.parse((await as.get('/login/status')).text)

    it('signs alice in: form, waiting page with the match code, link confirmed elsewhere, the app’s own session', async () => {
      expect(await browser.get('/')).toMatchObject({ status: 303, location: '/login' })
      expect((await browser.get('/login')).text).toContain('name="authid"')
      const { submitted, code } = await startSignIn(browser, 'alice')
      expect(cookieAttributes(submitted, 'pending_login')).toEqual(
        expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']),
      )
      expect(await status(browser)).toEqual({ state: 'waiting', note: null })

      const link = h.linkFor('alice')
      expect(link.startsWith(`${h.app.url}/v1/links/`)).toBe(true)
      const confirmed = await confirmLink(link, code)
      // Same device: the phone that confirmed is sent to the app's return URL; it need not go there.
      expect(confirmed.status).toBe(303)
      expect(confirmed.location?.startsWith(`${h.app.url}/auth/return?code=`)).toBe(true)

      const polled = await browser.get('/login/status')
      expect(JSON.parse(polled.text)).toEqual({ location: '/' })
      const session = cookieAttributes(polled, 'session')
      expect(session).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']))
      expect(session).not.toContain('secure') // served over http in this test; https apps set it
      expect(browser.cookies.has('pending_login')).toBe(false)
      const home = await browser.get('/')
      expect([home.status, home.text]).toEqual([
        200,
        expect.stringContaining('Signed in as <strong id="user">alice'),
      ])
      expect(home.headers.get('content-security-policy')).toContain("script-src 'self'")

      // `authenticated` was answered once, to this browser: polling again opens no second session.
      expect(await status(browser)).toEqual({ location: '/login' })
    })

    it('signs out: the old session cookie opens nothing any more', async () => {
      const { code } = await startSignIn(browser, 'alice')
      await confirmLink(h.linkFor('alice'), code)
      expect((await browser.get('/login/wait')).location).toBe('/')
      const stolen = browser.cookies.get('session') as string
      expect(await browser.post('/logout', {})).toMatchObject({ status: 303, location: '/login' })
      expect(browser.cookies.has('session')).toBe(false)
      expect(await browser.get('/', { cookie: `session=${stolen}` })).toMatchObject({
        status: 303,
        location: '/login',
      })
    })

    it('tells the user the link expired once the challenge’s time has passed', async () => {
      await startSignIn(browser, 'alice')
      h.clock.advance(11 * MINUTE)
      expect(await status(browser)).toEqual({ location: '/login?ended=expired' })
      expect((await browser.get('/login?ended=expired')).text).toContain('Your sign-in link expired')
      expect(browser.cookies.has('pending_login')).toBe(false)
    })

    it('never signs in a tab whose login a newer one replaced, and signs in the newer one', async () => {
      await startSignIn(browser, 'alice')
      const firstLink = h.linkFor('alice')
      h.clock.advance(MINUTE) // past the 30 s resend cooldown
      const otherTab = httpBrowser(h.app.url)
      const second = await startSignIn(otherTab, 'alice')
      const stale = await httpBrowser(h.app.url).get(new URL(firstLink).pathname)
      expect([stale.status, stale.text]).toEqual([
        410,
        expect.stringContaining('A newer link replaced this one'),
      ])
      expect((await confirmLink(h.linkFor('alice'), second.code)).status).toBe(303)

      // The first tab polls first: it names its own challenge, so it cannot take the newer one's answer.
      expect(await status(browser)).toEqual({ location: '/login?ended=replaced' })
      expect(browser.cookies.has('session')).toBe(false)
      expect(await status(otherTab)).toEqual({ location: '/' })
      expect((await otherTab.get('/')).text).toContain('Signed in as')
      expect((await browser.get('/login?ended=replaced')).text).toContain('replaced by a newer one')
    })

    it('ends the login when the link’s page gets the wrong code five times', async () => {
      const { code } = await startSignIn(browser, 'alice')
      const wrong = String((Number(code) + 1) % 1000).padStart(3, '0')
      const link = h.linkFor('alice')
      const answers: number[] = []
      for (let i = 0; i < 5; i++) answers.push((await confirmLink(link, wrong)).status)
      expect(answers).toEqual([400, 400, 400, 400, 410])
      expect(await status(browser)).toEqual({ location: '/login?ended=too-many-codes' })
      expect((await browser.get('/login?ended=too-many-codes')).text).toContain(
        'entered wrongly too many times',
      )
    })

    it('refuses an unknown name with the same words as any other refusal, and says when to retry', async () => {
      const unknown = await browser.post('/login', { authid: 'mallory' })
      expect([unknown.status, unknown.text]).toEqual([
        403,
        expect.stringContaining('We could not send a sign-in link'),
      ])
      expect(unknown.setCookies).toEqual([])
      expect((await browser.post('/login', { authid: '  ' })).status).toBe(400)

      await startSignIn(browser, 'bob')
      const again = await browser.post('/login', { authid: 'bob' })
      expect([again.status, again.text]).toEqual([429, expect.stringContaining('Try again in 30 seconds')])
    })

    it('refuses forms posted from another site (login CSRF) and starts nothing', async () => {
      const forged = await browser.post('/login', { authid: 'alice' }, { origin: 'https://evil.example' })
      expect([forged.status, forged.setCookies]).toEqual([403, []])
      expect(h.notifier.messages).toEqual([])
    })

    it('serves the link pages on its own origin, and neither /metrics nor the admin API', async () => {
      expect((await browser.get('/v1/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).text).toContain(
        'This link is not valid',
      )
      expect((await browser.get('/metrics')).status).toBe(404)
      expect((await browser.get('/v1/admin/users')).status).toBe(404)
      expect((await browser.get('/v1/openapi.json')).status).toBe(404)
    })

    /** The phone that opens alice's link confirms it and follows the redirect to the app's return URL. */
    const confirmOnPhone = async (code: string) => {
      const phone = httpBrowser(h.app.url)
      const confirmed = await confirmLink(h.linkFor('alice'), code, phone)
      expect(confirmed.status).toBe(303)
      const back = new URL(confirmed.location as string)
      return { phone, back: `${back.pathname}${back.search}` }
    }

    it('signs in the browser that opened the link too (same device), with a code that works once', async () => {
      const { code } = await startSignIn(browser, 'alice')
      const { phone, back } = await confirmOnPhone(code)
      const landed = await phone.get(back)
      expect([landed.status, landed.location]).toEqual([303, '/'])
      expect(cookieAttributes(landed, 'session')).toEqual(
        expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']),
      )
      expect((await phone.get('/')).text).toContain('Signed in as <strong id="user">alice')

      // The same code again (a second tab, a replay): no session, and the user is told why.
      const replay = httpBrowser(h.app.url)
      const again = await replay.get(back)
      expect([again.status, again.location, again.setCookies]).toEqual([303, '/login?ended=link-spent', []])
      expect((await replay.get('/login?ended=link-spent')).text).toContain('already used')

      // The device that started keeps polling and is signed in as well.
      expect(await status(browser)).toEqual({ location: '/' })
    })

    it('opens no session for a code that is made up, or redeemed after a minute', async () => {
      const forged = await httpBrowser(h.app.url).get(`/auth/return?code=${'A'.repeat(32)}`)
      expect([forged.location, forged.setCookies]).toEqual(['/login?ended=link-spent', []])
      const { code } = await startSignIn(browser, 'alice')
      const { phone, back } = await confirmOnPhone(code)
      h.clock.advance(MINUTE)
      expect(await phone.get(back)).toMatchObject({ location: '/login?ended=link-spent', setCookies: [] })
    })
  })

  describe(`the ${name} example’s periodic work`, { timeout: 30_000 }, () => {
    it('needs no timer of its own: the engine sweeps expired logins on its own timers', async () => {
      // A manual clock turns the engine's timers off by default; this test turns them on, quickly.
      const h = await startSignInHarness(serve, { background: { sweepMs: 10, outboxMs: 10 } })
      try {
        await httpBrowser(h.app.url).post('/login', { authid: 'alice' })
        const swept = new Promise((resolve) => h.engine.events.once('challenge.expired', resolve))
        h.clock.advance(11 * MINUTE)
        await swept // expired by the engine's runDue: nobody polled, the app schedules nothing
      } finally {
        await h.close()
      }
    })
  })
}

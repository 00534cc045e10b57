import { browserAvailable, launchChromium, seriousViolations } from '@flexsecure/browser-test'
import { type SignInHarness, startSignInHarness } from '@flexsecure/example-shared/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve } from './app.js'

// The whole sign-in as a person does it, in Chromium: the app's pages and FlexSecure's link page,
// each checked with axe-core, and no script or CSP error in any of them. Both completions: the tab
// that asked (polling), and the browser that opened the link (sent back to the app with a code).

describe.runIf(browserAvailable())('signing in to the Express example in Chromium', () => {
  let browser: Browser
  let h: SignInHarness
  const problems: string[] = []
  /** A page whose console errors (a CSP refusal, a script error) fail the test. */
  const watched = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${page.url()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`))
    return page
  }

  beforeAll(async () => {
    browser = await launchChromium()
    h = await startSignInHarness(serve)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await h?.close()
  })

  it('types the name, reads the match code, confirms on the link’s page, and the waiting page signs in', async () => {
    const laptop = watched(await (await browser.newContext()).newPage())
    await laptop.goto(h.app.url)
    expect(new URL(laptop.url()).pathname).toBe('/login')
    expect(await seriousViolations(laptop)).toEqual([])
    await laptop.getByLabel('User name').fill('alice')
    await laptop.getByRole('button', { name: 'Email me a sign-in link' }).click()
    await laptop.waitForURL('**/login/wait')
    const code = (await laptop.locator('#match-code').textContent()) ?? ''
    expect(code).toMatch(/^\d{3}$/)
    expect(await seriousViolations(laptop)).toEqual([])

    // The link from the email, opened on another device (its own cookies).
    const phone = watched(await (await browser.newContext()).newPage())
    await phone.goto(h.linkFor('alice'))
    expect(await phone.getByRole('heading').textContent()).toBe('Sign in to web?')
    expect(await seriousViolations(phone)).toEqual([])
    await phone.getByLabel('Enter the code shown on the device where you started signing in').fill(code)
    await phone.getByRole('button', { name: 'Confirm sign-in' }).click()
    // The link's page sends the phone back to the app (same device), which signs the phone in too.
    await phone.waitForURL(`${h.app.url}/`)
    expect(await phone.locator('#user').textContent()).toBe('alice')

    // The waiting page's script polls every 2 seconds and follows the app to the signed-in page.
    await laptop.waitForURL(`${h.app.url}/`, { timeout: 20_000 })
    expect(await laptop.locator('#user').textContent()).toBe('alice')
    expect(await seriousViolations(laptop)).toEqual([])
    const session = (await laptop.context().cookies()).find((cookie) => cookie.name === 'session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
    expect(await laptop.evaluate(() => document.cookie)).toBe('') // HttpOnly: no script sees them

    await laptop.getByRole('button', { name: 'Sign out' }).click()
    await laptop.waitForURL('**/login')
    await laptop.goto(h.app.url)
    expect(new URL(laptop.url()).pathname).toBe('/login')
    expect(problems).toEqual([])
  }, 60_000)

  it('same device: opens the link in the browser that asked, and that tab lands signed in', async () => {
    const context = await browser.newContext()
    const signIn = watched(await context.newPage())
    await signIn.goto(`${h.app.url}/login`)
    await signIn.getByLabel('User name').fill('bob')
    await signIn.getByRole('button', { name: 'Email me a sign-in link' }).click()
    await signIn.waitForURL('**/login/wait')
    const code = (await signIn.locator('#match-code').textContent()) ?? ''

    // The mail client opens the link in a new tab of the same browser.
    const mailTab = watched(await context.newPage())
    await mailTab.goto(h.linkFor('bob'))
    await mailTab.getByLabel('Enter the code shown on the device where you started signing in').fill(code)
    await mailTab.getByRole('button', { name: 'Confirm sign-in' }).click()
    await mailTab.waitForURL(`${h.app.url}/`)
    expect(await mailTab.locator('#user').textContent()).toBe('bob')
    expect(await seriousViolations(mailTab)).toEqual([])
    // The code is spent and gone from the address bar: the tab sits on the app's home page.
    expect(new URL(mailTab.url()).search).toBe('')
    const session = (await context.cookies()).find((cookie) => cookie.name === 'session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
    // The tab that asked keeps polling and follows as well.
    await signIn.waitForURL(`${h.app.url}/`, { timeout: 20_000 })
    expect(await signIn.locator('#user').textContent()).toBe('bob')
    expect(problems).toEqual([])
  }, 60_000)
})

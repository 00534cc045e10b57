import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  axeViolations,
  type Browser,
  type BrowserContext,
  browserAvailable,
  launchChromium,
  type Page,
  seriousViolations,
} from '@flexsecure/browser-test'
import { createEngine } from '@flexsecure/core'
import { captureNotifier, manualClock } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testServerConfig } from '../test/server-config.js'
import { type RunningServer, startServer } from './server.js'

// A new administrator's first session, in real headless Chromium against the real server: sign in
// with the link from the test notifier, create two systems, a user, assign both at once, switch a
// method, run a login through the HTTP API, find it in the audit trail and on the chart, create and
// revoke a key. Every screen is checked with axe-core and photographed at 1280 and 375 px wide.

const OUT = new URL('../../../test-output/console/', import.meta.url).pathname
const ADMIN = 'ada@example.com'

describe.runIf(browserAvailable())('the console in Chromium', () => {
  let dir: string
  let server: RunningServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const notifier = captureNotifier()
  let accountId: string
  const shots: string[] = []

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true })
    dir = mkdtempSync(join(tmpdir(), 'flexsecure-console-'))
    const config = testServerConfig(join(dir, 'flexsecure.db'), {
      secret: 'console-browser-test-secret-console-browser',
      sweepSeconds: 30,
      mailFrom: 'FlexSecure <no-reply@localhost>',
    })
    server = await startServer(config, notifier)
    // What `flexsecure init --admin-email` does: an account, and its first administrator.
    accountId = (await server.engine.accounts.create({ name: 'Acme' })).id
    await server.engine
      .account(accountId, { actor: 'cli' })
      .console.grant({ authid: ADMIN, email: ADMIN, role: 'admin' })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** axe-core finds nothing serious, then a full-page picture at 1280 and at 375 px wide. */
  async function check(name: string) {
    expect(await seriousViolations(page), `axe on ${name}`).toEqual([])
    await page.screenshot({ path: join(OUT, `${name}-1280.png`), fullPage: true })
    await page.setViewportSize({ width: 375, height: 812 })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, `${name} fits 375 px (tables scroll inside their region)`).toBeLessThanOrEqual(0)
    expect(await seriousViolations(page), `axe on ${name} at 375 px`).toEqual([])
    await page.screenshot({ path: join(OUT, `${name}-375.png`), fullPage: true })
    await page.setViewportSize({ width: 1280, height: 900 })
    shots.push(name)
  }

  const go = async (path: string) => {
    const response = await page.goto(`${server.url}${path}`)
    expect(response?.status(), path).toBe(200)
  }

  it('walks a new administrator through the console', async () => {
    // Sign in with the link from the test notifier, typing the code the waiting page shows (S12).
    await go('/console/')
    expect(page.url()).toContain('/console/sign-in')
    await check('sign-in')
    await page.getByLabel('Your user id').fill(ADMIN)
    await page.getByRole('button', { name: 'Send me a sign-in link' }).click()
    await page.waitForURL(/\/console\/sign-in\/wait$/)
    const code = (await page.locator('.code').textContent()) ?? ''
    expect(code).toMatch(/^\d{3}$/)
    await check('sign-in-wait')
    const link = notifier.last(ADMIN).link as string
    const mail = await context.newPage()
    await mail.goto(link)
    // The link's pages are what anyone who signs in sees: axe finds nothing on them, moderate or minor
    // included, and a wrong code is said beside the box it is about.
    expect(await axeViolations(mail), 'axe on the confirm page').toEqual([])
    await mail.getByLabel(/Enter the code/).fill(code === '999' ? '998' : '999')
    await mail.getByRole('button', { name: 'Confirm sign-in' }).click()
    await expect(mail.getByRole('alert').textContent()).resolves.toContain('That code does not match')
    await expect(mail.getByLabel(/Enter the code/).getAttribute('aria-describedby')).resolves.toBe(
      'code-error',
    )
    expect(await axeViolations(mail), 'axe on the confirm page with a wrong code').toEqual([])
    await mail.getByLabel(/Enter the code/).fill(code)
    await mail.getByRole('button', { name: 'Confirm sign-in' }).click()
    await mail.getByText('You are signed in').waitFor()
    expect(await axeViolations(mail), 'axe on the signed-in page').toEqual([])
    await mail.close()
    await page.waitForURL(`${server.url}/console/`, { timeout: 15_000 })
    await expect(page.getByRole('heading', { name: 'Overview' }).isVisible()).resolves.toBe(true)

    // Two systems with different policies; a refused return URL is explained beside its field first.
    await go('/console/systems/new')
    await page.getByLabel(/^Name/).fill('payroll')
    await page.locator('#f-policies-passwordless-lifetimeSeconds').fill('300')
    await page.getByLabel(/^Return URL/).fill('https://elsewhere.example/back')
    await page.getByRole('button', { name: 'Create the system' }).click()
    await expect(page.locator('.error-summary').textContent()).resolves.toContain(
      'returnUrl: must be https on an origin',
    )
    await expect(page.locator('#f-returnUrl').getAttribute('aria-invalid')).resolves.toBe('true')
    await check('system-new-error')
    await page.getByLabel(/^Return URL/).fill('')
    await page.getByRole('button', { name: 'Create the system' }).click()
    await page.waitForURL(/\/console\/systems\/payroll/)
    await go('/console/systems/new')
    await page.getByLabel(/^Name/).fill('vault')
    await page.getByLabel('Sensitivity').selectOption('high')
    await page.locator('#f-policies-pin-enabled').check()
    await page.locator('#f-policies-pin-pinLength').fill('10')
    await page.locator('#f-policies-pin-channels').selectOption('email')
    await page.getByRole('button', { name: 'Create the system' }).click()
    await page.waitForURL(/\/console\/systems\/vault/)
    // A rule, then "try it" for a context.
    await page.getByText('Add a rule').click()
    await page.getByLabel(/^Rule name/).fill('outside the office')
    await page.getByLabel('Client IP not in (CIDR ranges)').fill('203.0.113.0/24')
    await page.getByLabel('Number matching (the link’s page asks for a code)').check()
    await page.getByRole('button', { name: 'Add the rule' }).click()
    await page.waitForURL(/rules-saved/)
    await go('/console/systems')
    await check('systems')

    // A user, both systems at once, then one method switched.
    await go('/console/users/new')
    await page.getByLabel(/^User id \(authid\)/).fill('carol')
    await page.getByLabel('Display name').fill('Carol Jones')
    await page.getByLabel('Email address').fill('carol@example.com')
    await page.getByLabel('Phone number').fill('+14155550123')
    await page.getByRole('button', { name: 'Create the user' }).click()
    await page.waitForURL(/\/console\/users\/carol/)
    await page.getByText('Assign systems').click()
    await page.getByLabel('payroll', { exact: true }).check()
    await page.getByLabel('vault', { exact: true }).check()
    await page.getByLabel('Method for vault').last().selectOption('pin')
    await page.getByRole('button', { name: 'Assign the selected systems' }).click()
    await page.waitForURL(/done=assigned/)
    const rows = page.getByRole('region', { name: 'Assigned systems, as a table' }).locator('tbody tr')
    await expect(rows.count()).resolves.toBe(2)
    await expect(rows.filter({ hasText: 'vault' }).textContent()).resolves.toContain('One-time PIN')
    await rows.filter({ hasText: 'vault' }).getByLabel('Method for vault').selectOption('passwordless')
    await rows.filter({ hasText: 'vault' }).getByRole('button', { name: 'Switch' }).click()
    await page.waitForURL(/done=assigned/)
    await expect(rows.filter({ hasText: 'vault' }).textContent()).resolves.toContain('Magic link')
    // On a phone the table fits its region: the Switch column is not hidden past the edge.
    await page.setViewportSize({ width: 375, height: 812 })
    const region = page.getByRole('region', { name: 'Assigned systems, as a table' })
    await expect(region.evaluate((e) => e.scrollWidth - e.clientWidth)).resolves.toBeLessThanOrEqual(0)
    await page.setViewportSize({ width: 1280, height: 900 })
    await check('user')

    await go('/console/systems/vault?try=carol&context=ip%3D198.51.100.7')
    await expect(page.getByRole('status').last().textContent()).resolves.toContain('outside the office')
    await check('system')

    // A login through the HTTP API, with a key made for it.
    const key = (
      await server.engine.account(accountId).apiKeys.create({ name: 'test host', scopes: ['auth'] })
    ).key
    const api = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: key },
        body: JSON.stringify(body),
      }).then((r) => r.json())
    const started = await api('/v1/start', { system: 'payroll', authid: 'carol' })
    expect(started.result).toBe('success')
    await server.engine.links.confirm(notifier.last('carol@example.com').token ?? '')
    // The chart counts the sign-in in the hour (UTC) it happened: the hours around the check, as the
    // table labels them (a run across a full hour must not look in the next one).
    const hourOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 13)}:00 UTC`.replace('T', ' ')
    const checkedFrom = hourOf(Date.now())
    expect(
      await api('/v1/check', { system: 'payroll', authid: 'carol', challengeId: started.challengeId }),
    ).toMatchObject({
      result: 'authenticated',
    })
    const signInHours = new Set([checkedFrom, hourOf(Date.now())])

    // In the audit trail, filtered by user...
    await go('/console/audit')
    await page.getByLabel('User id').fill('carol')
    await page.getByRole('button', { name: 'Filter' }).click()
    const checked = page.locator('#audit-rows tr', { hasText: 'challenge.checked' })
    await expect(checked.first().textContent()).resolves.toContain('authenticated')
    // The host's calls are shown under its key's name (the audit keeps the key's id).
    await expect(checked.first().textContent()).resolves.toContain('key “test host”')
    await check('audit')
    // All ten columns, Details last, fit a 1280 px screen without scrolling the table sideways.
    const fits = await page.evaluate(() => {
      const table = document.querySelector('table.audit-events') as HTMLTableElement
      return { table: table.scrollWidth, region: (table.parentElement as HTMLElement).clientWidth }
    })
    expect(fits.table).toBeLessThanOrEqual(fits.region)
    // The live tail puts new events on top as they happen.
    await page.getByLabel('Live: add new events as they happen').check()
    await server.engine.account(accountId).users.update('carol', { displayName: 'Carol J.' })
    await page.locator('#audit-rows tr', { hasText: 'user.updated' }).first().waitFor({ timeout: 10_000 })
    await page.getByLabel('Live: add new events as they happen').uncheck()
    // ...and on the chart, whose numbers are also a table.
    await go('/console/?system=payroll')
    await page.getByText('The numbers as a table').click()
    const hours = await page
      .getByRole('region', { name: /as a table/ })
      .locator('tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => [
          row.querySelector('th')?.textContent ?? '',
          row.querySelector('td')?.textContent ?? '',
        ]),
      )
    const counted = hours
      .filter(([hour]) => signInHours.has(hour as string))
      .map(([, succeeded]) => succeeded)
    // One success in the sign-in's hour (two rows only when the check straddled a full hour).
    expect(counted.map(Number).reduce((a, b) => a + b, 0)).toBe(1)
    await go('/console/')
    await page.getByRole('button', { name: 'Verify the chain now' }).click()
    await page.waitForURL(/done=verified/)
    await expect(page.locator('.good').textContent()).resolves.toContain('Verified intact')
    await check('overview')

    // A key form with an error keeps what was typed, the message beside the scopes it is about.
    await go('/console/keys')
    await page.getByLabel(/^Name/).fill('web back end')
    await page.getByLabel(/^auth:/).uncheck()
    await page.getByLabel(/^Expires on/).fill('2031-01-31')
    await page.getByRole('button', { name: 'Create the key' }).click()
    await expect(page.locator('#f-scopes-error').textContent()).resolves.toContain('must list one or more')
    await expect(page.locator('.error-summary a').getAttribute('href')).resolves.toBe('#f-scopes')
    await expect(page.getByLabel(/^Name/).inputValue()).resolves.toBe('web back end')
    await expect(page.getByLabel(/^Expires on/).inputValue()).resolves.toBe('2031-01-31')
    await expect(page.getByLabel(/^auth:/).isChecked()).resolves.toBe(false)
    await page.getByLabel(/^auth:/).check()
    await page.getByLabel(/^Expires on/).fill('')

    // A key: created (fresh sign-in, so no confirmation asked), shown once, then revoked.
    await page.getByRole('button', { name: 'Create the key' }).click()
    const shown = (await page.locator('#new-key-value').textContent()) ?? ''
    expect(shown).toMatch(/^fsk_/)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    await page.getByRole('button', { name: 'Copy the key' }).click()
    await page.getByRole('button', { name: 'Copied' }).waitFor()
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(shown)
    await check('key-created')
    page.once('dialog', (dialog) => dialog.accept())
    await page.getByRole('button', { name: 'Revoke the key web back end' }).click()
    await page.waitForURL(/key-revoked/)
    await expect(page.getByRole('row', { name: /web back end/ }).textContent()).resolves.toContain('revoked')
    const refused = await fetch(`${server.url}/v1/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: shown },
      body: JSON.stringify({ system: 'payroll', authid: 'carol' }),
    })
    expect(refused.status).toBe(403)
    await check('keys')

    // A long address: on a phone the users list still fits its region, the address broken, not cut off.
    await server.engine.account(accountId).users.create({
      authid: 'margaret',
      email: 'margaret.featherstonehaugh@accounts.example-enterprises.com',
    })
    await go('/console/users')
    await page.setViewportSize({ width: 375, height: 812 })
    const users = page.getByRole('region', { name: 'Users' })
    await users.getByText('margaret.featherstonehaugh@', { exact: false }).waitFor()
    await expect(users.evaluate((e) => e.scrollWidth - e.clientWidth)).resolves.toBeLessThanOrEqual(0)
    await page.setViewportSize({ width: 1280, height: 900 })
    for (const [path, name] of [
      ['/console/users', 'users'],
      ['/console/deliveries', 'deliveries'],
      ['/console/settings', 'settings'],
      ['/console/sessions', 'sessions'],
    ] as const) {
      await go(path)
      await check(name)
    }
    expect(shots).toHaveLength(14)
  }, 180_000)

  it('shows hostile names and values as text and runs none of them', async () => {
    const acme = server.engine.account(accountId)
    const script = '<script>window.pwned = 1</script>'
    await acme.systems.create({ name: script, policies: { passwordless: { enabled: true } } })
    await acme.users.create({
      authid: '"><img src=x onerror="window.pwned=2">',
      displayName: '<b onmouseover=alert(1)>Eve</b>',
      email: 'eve@example.com',
    })
    await acme.start({
      system: script,
      authid: 'nobody',
      context: { userAgent: '<svg onload="window.pwned=3">' },
    })
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    for (const path of [
      '/console/systems',
      '/console/users?query=%22',
      '/console/users?query=%3C&by=displayName',
      '/console/audit',
    ]) {
      await go(path)
      await expect(page.evaluate(() => (window as { pwned?: number }).pwned)).resolves.toBeUndefined()
      await expect(page.locator('main img, main svg:not([data-chart]), main b').count()).resolves.toBe(0)
    }
    await go('/console/systems')
    await expect(page.getByRole('link', { name: script }).isVisible()).resolves.toBe(true)
    expect(dialogs).toEqual([])
  })

  it('pictures a busy day for the README', async () => {
    // Another account whose last 24 hours of logins an engine with a manual clock writes on the same
    // database: docs/console-overview.png is a copy of the picture taken here.
    const clock = manualClock(Date.now() - 23 * 3_600_000)
    const engine = createEngine({
      storage: sqliteStorage({ filename: join(dir, 'flexsecure.db') }),
      notifier,
      clock,
      secret: 'console-browser-test-secret-console-browser',
      links: { baseUrl: server.url },
    })
    const demo = engine.account(
      (
        await engine.accounts.create({
          name: 'Demo',
          settings: { sendLimits: { perUserPerHour: 1000, resendCooldownSeconds: 0 } },
        })
      ).id,
    )
    for (const name of ['payroll', 'crm', 'wiki'])
      await demo.systems.create({ name, policies: { passwordless: { enabled: true } } })
    await demo.users.create({ authid: 'sam', email: 'sam@example.com' })
    await demo.users.assign(
      'sam',
      ['payroll', 'crm', 'wiki'].map((system) => ({ system, method: 'passwordless' as const })),
    )
    for (let hour = 0; hour < 24; hour++) {
      for (let i = 0; i < 2 + ((hour * 7) % 9); i++) {
        const system = ['payroll', 'crm', 'wiki'][i % 3] as string
        await demo.start({ system, authid: 'sam' })
        await engine.links.confirm(notifier.last('sam@example.com').token ?? '')
        await demo.check({ system, authid: 'sam' })
      }
      for (let i = 0; i < hour % 4; i++) await demo.start({ system: 'payroll', authid: 'mallory' })
      clock.advance(3_600_000)
    }
    await demo.console.grant({ authid: ADMIN, email: ADMIN, role: 'admin' })
    await engine.close()
    const fresh = await browser.newContext({ viewport: { width: 1000, height: 900 } })
    const tab = await fresh.newPage()
    await tab.goto(`${server.url}/console/sign-in`)
    await tab.getByLabel(/^Account id/).fill(demo.id)
    await tab.getByLabel(/^Your user id/).fill(ADMIN)
    await tab.getByRole('button', { name: 'Send me a sign-in link' }).click()
    const code = (await tab.locator('.code').textContent()) ?? ''
    await server.engine.links.confirm(notifier.last(ADMIN).token ?? '', { matchCode: code })
    await tab.getByRole('button', { name: 'I have confirmed, continue' }).click()
    await tab.waitForURL(`${server.url}/console/`)
    await tab.getByRole('button', { name: 'Verify the chain now' }).click()
    await tab.waitForURL(/done=verified/)
    await tab.goto(`${server.url}/console/`)
    expect(await seriousViolations(tab)).toEqual([])
    await tab.screenshot({ path: join(OUT, 'readme-overview.png') })
    await fresh.close()
  }, 120_000)

  it('works with the keyboard alone: skip link, visible focus, forms', async () => {
    await go('/console/users')
    await page.keyboard.press('Tab')
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe(
      'Skip to the content',
    )
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement as Element).outlineStyle,
    )
    expect(outline).toBe('solid')
    await page.keyboard.press('Enter')
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('main')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/console\/users\/new/)
  })
})

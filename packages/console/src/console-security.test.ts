import { DeliveryError } from '@flexsecure/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type ConsoleFixture, consoleFixture, hidden, ORIGIN } from '../test/console-fixture.js'

// S24: every state-changing request without a session, with another account's session, with a viewer
// session, or without the CSRF token is refused and changes nothing. The same requests with an
// administrator's session and token each change the account: the refusals are not an accident of the
// request's shape.

const ROOT = 'root@example.com'
const POLICY = {
  sensitivity: 'high',
  'policies.passwordless.enabled': 'on',
  'policies.passwordless.channels': 'email',
  'policies.passwordless.lifetimeSeconds': '600',
  'policies.pin.enabled': 'on',
  'policies.pin.channels': 'email,sms',
  'policies.pin.lifetimeSeconds': '300',
  'policies.pin.pinLength': '8',
  'policies.pin.attempts': '5',
}
const RULES = [
  { name: 'office', when: { ipIn: ['203.0.113.0/24'] }, effect: { numberMatching: true } },
  { name: 'exports', when: { action: ['export'] }, effect: { requireMemorizedPin: true } },
]

type Change = readonly [path: string, body: Record<string, string>, scope: 'named' | 'own account']

let f: ConsoleFixture
let keyId: string
let deliveryId: string
let changes: Change[]

beforeEach(async () => {
  f = await consoleFixture()
  await f.acme.console.grant({ authid: ROOT, email: ROOT, role: 'admin' })
  await f.acme.console.grant({ authid: 'vera@example.com', email: 'vera@example.com', role: 'viewer' })
  const other = await f.engine.accounts.create({ name: 'Other' })
  await f.engine
    .account(other.id)
    .console.grant({ authid: 'bob@example.com', email: 'bob@example.com', role: 'admin' })
  // Account A's data: a system with two rules, a locked user with a PIN, a key, a message waiting for a retry.
  await f.acme.systems.update('payroll', { rules: RULES })
  await f.acme.settings.update({ lockout: { freeFailures: 0, lockAfter: 1 } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  await f.acme.users.setPin('alice', '582914')
  await f.acme.start({ system: 'payroll', authid: 'alice' })
  await f.acme.check({ system: 'payroll', authid: 'alice', pin: '00000000' })
  await f.acme.users.create({ authid: 'dora', email: 'dora@example.com' })
  await f.acme.users.assign('dora', [{ system: 'payroll', method: 'passwordless' }])
  f.notifier.failNext(new DeliveryError('temporary', '451 later'))
  await f.acme.start({ system: 'payroll', authid: 'dora' })
  deliveryId = (await f.acme.deliveries.list()).deliveries[0]?.id as string
  keyId = (await f.acme.apiKeys.create({ name: 'web', scopes: ['auth'] })).id
  changes = [
    ['/console/systems', { name: 'ledger', ...POLICY }, 'own account'],
    ['/console/systems/payroll', POLICY, 'named'],
    [
      '/console/systems/payroll/rules',
      { rules: JSON.stringify([...RULES, { name: 'n', effect: { deny: true } }]) },
      'named',
    ],
    ['/console/systems/payroll/rules/add', { 'rule.name': 'night', 'effect.deny': 'on' }, 'named'],
    ['/console/systems/payroll/rules/move', { rule: 'office', direction: 'down' }, 'named'],
    ['/console/systems/payroll/rules/remove', { rule: 'office' }, 'named'],
    ['/console/users', { authid: 'mallory', email: 'mallory@example.com', status: 'active' }, 'own account'],
    [
      '/console/users/alice',
      { displayName: 'Changed', email: 'alice@example.com', status: 'active' },
      'named',
    ],
    ['/console/users/alice/assign', { system: 'payroll', method: 'passwordless', channel: '' }, 'named'],
    ['/console/users/alice/unlock', {}, 'named'],
    ['/console/users/alice/pin', { pin: '739105' }, 'named'],
    ['/console/users/alice/pin/clear', {}, 'named'],
    ['/console/users/alice/console-role', { role: 'viewer' }, 'named'],
    ['/console/deliveries/requeue', { id: deliveryId }, 'named'],
    ['/console/keys', { name: 'evil', scopes: 'admin' }, 'own account'],
    ['/console/keys/revoke', { id: keyId }, 'named'],
    ['/console/settings', { uniformResponses: 'on', 'sendLimits.perUserPerHour': '3' }, 'own account'],
    ['/console/settings/messages', { locale: 'en', appName: 'Evil' }, 'own account'],
    ['/console/users/alice/remove', {}, 'named'],
  ]
})
afterEach(() => f.close())

/** Everything an administrator can change in account A, and its audit head. */
async function snapshot(): Promise<string> {
  const users = (await f.acme.users.search({ limit: 1000 })).users
  return JSON.stringify({
    systems: await f.acme.systems.list(),
    users: await Promise.all(users.map(async (u) => [u, await f.acme.users.assignments(u.authid)])),
    keys: await f.acme.apiKeys.list(),
    settings: await f.acme.settings.get(),
    deliveries: await f.acme.deliveries.list(),
    audit: (await f.acme.stats.overview()).audit.lastSeq,
  })
}

/** A success notice after a redirect: the change happened. */
const succeeded = (r: { status: number; location: string | null }) =>
  r.status === 303 &&
  /done=/.test(r.location ?? '') &&
  !/done=(not-|key-not-|rules-changed)/.test(r.location ?? '')

describe('state-changing console requests', () => {
  it('each change an administrator’s session and token makes does change the account (the control)', async () => {
    const { client, csrf } = await f.signIn(ROOT)
    for (const [path, body] of changes) {
      const before = await snapshot()
      const response = await client.post(path, { ...body, _csrf: csrf })
      expect(response.status, `${path}: ${response.text.slice(0, 400)}`).toBeLessThan(400)
      expect(await snapshot(), path).not.toBe(before)
    }
    const audited = (await f.acme.audit.list({ limit: 1000 })).events.filter(
      (e) => e.actor === `console:${ROOT}`,
    )
    expect(new Set(audited.map((e) => e.type))).toEqual(
      new Set([
        'console.signed_in',
        'system.created',
        'system.updated',
        'user.created',
        'user.updated',
        'user.assigned',
        'user.unlocked',
        'user.pin.set',
        'user.pin.cleared',
        'delivery.requeued',
        'apikey.created',
        'apikey.revoked',
        'account.settings.updated',
        'user.removed',
      ]),
    )
  })

  it('are refused without a session, and change nothing', async () => {
    const anonymous = f.client()
    const before = await snapshot()
    for (const [path, body] of changes) {
      const response = await anonymous.post(path, body)
      expect(response.status, path).toBe(401)
    }
    expect(await snapshot()).toBe(before)
  })

  it('are refused with a viewer’s session, and change nothing', async () => {
    const { client, csrf } = await f.signIn('vera@example.com')
    const before = await snapshot()
    for (const [path, body] of changes) {
      const response = await client.post(path, { ...body, _csrf: csrf })
      expect(response.status, path).toBe(403)
      expect(response.text).toContain('viewer')
    }
    expect(await snapshot()).toBe(before)
  })

  it('are refused without the CSRF token, with another session’s token, or from another site', async () => {
    const { client, csrf } = await f.signIn(ROOT)
    const viewer = await f.signIn('vera@example.com')
    const before = await snapshot()
    for (const [path, body] of changes) {
      expect((await client.post(path, body)).status, `${path} without a token`).toBe(403)
      expect(
        (await client.post(path, { ...body, _csrf: viewer.csrf })).status,
        `${path} with another token`,
      ).toBe(403)
      expect(
        (await client.post(path, { ...body, _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })).status,
        `${path} from another site`,
      ).toBe(403)
    }
    expect(await snapshot()).toBe(before)
  })

  it('cannot reach another account’s data with that account’s session', async () => {
    const other = (await f.engine.accounts.list()).find((a) => a.name === 'Other')?.id as string
    const { client, csrf } = await f.signIn('bob@example.com', other)
    const before = await snapshot()
    for (const [path, body, scope] of changes) {
      if (scope !== 'named') continue
      const response = await client.post(path, { ...body, _csrf: csrf })
      expect(succeeded(response), `${path}: ${response.status} ${response.location}`).toBe(false)
    }
    expect(await snapshot()).toBe(before)
    // What a session of account B creates lands in B: account A gains nothing.
    await client.post('/console/users', { authid: 'mallory', email: 'mallory@example.com', _csrf: csrf })
    expect(await f.acme.users.get('mallory')).toBeNull()
    expect(await f.engine.account(other).users.get('mallory')).not.toBeNull()
  })
})

describe('hostile names and values', () => {
  it('are shown as text, never as markup, on every page that shows them', async () => {
    const script = '<script>alert("system")</script>'
    const image = '<img src=x onerror=alert(1)>'
    const svg = '"><svg onload=alert(2)>'
    await f.acme.systems.create({ name: script, policies: { passwordless: { enabled: true } } })
    await f.acme.users.create({ authid: svg, displayName: image, email: 'h@example.com' })
    await f.acme.users.assign(svg, [{ system: script, method: 'passwordless' }])
    await f.acme.start({
      system: script,
      authid: svg,
      context: { userAgent: '<script>alert(3)</script>', ip: '<b>1.2.3.4</b>' },
    })
    const { client } = await f.signIn(ROOT)
    const pages = [
      '/console/',
      '/console/systems',
      `/console/systems/${encodeURIComponent(script)}`,
      `/console/users?query=${encodeURIComponent('"')}`,
      `/console/users/${encodeURIComponent(svg)}`,
      '/console/audit',
      '/console/deliveries',
    ]
    for (const path of pages) {
      const page = await client.get(path)
      expect(page.status, path).toBe(200)
      for (const raw of [script, image, '<svg onload', '<script>alert(3)', '<b>1.2.3.4</b>'])
        expect(page.text, path).not.toContain(raw)
      // Only the console's own script file, never an inline one.
      expect(page.text.match(/<script\b[^>]*>/g), path).toEqual([
        expect.stringMatching(/src="\/console\/assets\/console\.js\?v=/),
      ])
      // No style or event-handler attribute in any tag (attribute values, quoted and escaped, set aside).
      expect(page.text.replace(/"[^"]*"/g, '""'), path).not.toMatch(/<[^>]*\s(style|on[a-z]+)=/i)
      expect(page.headers.get('content-security-policy'), path).toMatch(/script-src 'self'; style-src 'self'/)
    }
    const systems = await client.get('/console/systems')
    expect(systems.text).toContain('&lt;script&gt;alert(&quot;system&quot;)&lt;/script&gt;')
    const audit = await client.get('/console/audit')
    expect(audit.text).toContain('&lt;b&gt;1.2.3.4&lt;/b&gt;')
  })

  it('are made inert in the CSV export (S36)', async () => {
    await f.acme.users.create({ authid: '=HYPERLINK("http://evil.example","x")' })
    const { client } = await f.signIn(ROOT)
    const csv = await client.get('/console/audit/export.csv?type=user.created')
    expect(csv.headers.get('content-type')).toContain('text/csv')
    expect(csv.text).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`)
    expect(csv.text).not.toMatch(/,=HYPERLINK/)
  })
})

describe('sign-in and sessions over HTTP', () => {
  it('answers the same for an administrator, a user without a role and nobody', async () => {
    const pages = []
    for (const authid of [ROOT, 'alice', 'nobody@example.com']) {
      const client = f.client()
      const form = await client.get('/console/sign-in')
      const sent = await client.post('/console/sign-in', {
        _form: hidden(form.text, '_form'),
        authid,
        account: f.acme.id,
      })
      const wait = await client.get('/console/sign-in/wait')
      pages.push([
        sent.status,
        sent.location,
        wait.status,
        wait.text
          .replaceAll(authid, 'X')
          .replace(/class="code">\d{3}/, 'code')
          .replace(/value="[^"]+"/g, ''),
      ])
    }
    expect(pages[1]).toEqual(pages[0])
    expect(pages[2]).toEqual(pages[0])
  })

  it('answers 400 to a form whose client went away mid-body, and logs no failure (S29)', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('authid=alice&acc'))
          controller.error(new Error('aborted'))
        },
      })
      const response = await f.fetcher(
        new Request(`${ORIGIN}/console/sign-in`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
          body,
          duplex: 'half',
        } as RequestInit),
      )
      expect(response.status).toBe(400)
      expect(errors).not.toHaveBeenCalled()
    } finally {
      errors.mockRestore()
    }
  })

  it('opens no session for a user who signs in without a console role', async () => {
    await f.acme.console.grant({ authid: ROOT, role: null })
    await expect(f.signIn(ROOT)).rejects.toThrow(/continue: 403 .*no console role/s)
    expect(f.rows('fs_console_sessions')).toEqual([])
  })

  it('sets the session cookie HttpOnly and SameSite=Strict, and Secure with __Host- over HTTPS', async () => {
    const { client } = await f.signIn(ROOT)
    expect([...client.jar.keys()]).toContain('fs_console')
    const { createConsole } = await import('../src/index.js')
    const secure = createConsole({
      engine: f.engine,
      secret: 'another-console-secret-another-console',
      secureCookies: true,
    })
    const response = await secure.fetch(new Request('https://console.test/console/sign-in'))
    expect(response.headers.getSetCookie()[0]).toMatch(
      /^__Host-fs_console_visitor=[^;]+; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    )
  })

  it('ends after 30 idle minutes and at sign-out, sending the browser back to sign-in', async () => {
    const first = await f.signIn(ROOT)
    f.clock.advance(29 * 60_000)
    expect((await first.client.get('/console/')).status).toBe(200)
    f.clock.advance(31 * 60_000)
    expect((await first.client.get('/console/')).location).toMatch(/^\/console\/sign-in\?next=/)
    const second = await f.signIn(ROOT)
    expect((await second.client.post('/console/sign-out', { _csrf: second.csrf })).location).toBe(
      '/console/sign-in',
    )
    expect((await second.client.get('/console/users')).location).toMatch(/^\/console\/sign-in/)
  })

  it('asks for a fresh login before creating a key, then creates it', async () => {
    const { client, csrf } = await f.signIn(ROOT)
    f.clock.advance(6 * 60_000)
    const refused = await client.post('/console/keys', { name: 'late', scopes: 'auth', _csrf: csrf })
    expect(refused.location).toBe('/console/confirm?next=%2Fconsole%2Fkeys')
    expect((await f.acme.apiKeys.list()).map((k) => k.name)).not.toContain('late')
    await client.post('/console/confirm', { next: '/console/keys', _csrf: csrf })
    const wait = await client.get('/console/sign-in/wait')
    const code = /class="code">(\d{3})</.exec(wait.text)?.[1] as string
    await f.engine.links.confirm(f.notifier.last(ROOT).token ?? '', { matchCode: code })
    const back = await client.post('/console/sign-in/continue', { _form: hidden(wait.text, '_form') })
    expect(back.location).toBe('/console/keys?done=confirmed')
    const created = await client.post('/console/keys', { name: 'late', scopes: 'auth', _csrf: csrf })
    expect(created.status).toBe(200)
    expect(created.text).toMatch(/id="new-key-value">fsk_/)
  })

  it('lists the administrator’s sessions and revokes another one', async () => {
    const laptop = await f.signIn(ROOT)
    f.clock.advance(1000)
    const phone = await f.signIn(ROOT)
    const list = await phone.client.get('/console/sessions')
    const ids = [...list.text.matchAll(/name="id" value="([^"]+)"/g)].map((m) => m[1])
    expect(ids).toHaveLength(2)
    const other = ids[1] as string
    expect(
      (await phone.client.post('/console/sessions/revoke', { id: other, _csrf: phone.csrf })).location,
    ).toMatch(/session-revoked/)
    expect((await laptop.client.get('/console/')).location).toMatch(/sign-in/)
    expect((await phone.client.get('/console/')).status).toBe(200)
  })
})

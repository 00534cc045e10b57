import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SECRET } from '../../../adapters/sqlite/test/engine-fixture.js'
import { type ConsoleFixture, consoleFixture, hidden } from '../test/console-fixture.js'
import { createConsole } from './index.js'

let f: ConsoleFixture
beforeEach(async () => {
  f = await consoleFixture()
  await f.acme.console.grant({ authid: 'root@example.com', email: 'root@example.com', role: 'admin' })
})
afterEach(() => f.close())

describe('the console', () => {
  it('signs an administrator in and shows every screen', async () => {
    const { client } = await f.signIn('root@example.com')
    for (const path of [
      '/console/',
      '/console/?bucket=day&system=payroll',
      '/console/systems',
      '/console/systems/new',
      '/console/systems/payroll',
      '/console/users',
      '/console/users/new',
      '/console/users/alice',
      '/console/audit',
      '/console/deliveries',
      '/console/deliveries?queue=abandoned',
      '/console/keys',
      '/console/settings',
      '/console/settings?locale=de',
      '/console/sessions',
    ]) {
      const page = await client.get(path)
      expect(page.status, `${path}: ${page.text.slice(0, 500)}`).toBe(200)
      expect(page.headers.get('cache-control'), path).toBe('no-store')
    }
    expect((await client.get('/console/users/nobody')).status).toBe(404)
  })

  it('reads times as times: an empty filtered time said so, a bad one beside its field, details’ times as dates', async () => {
    const { client } = await f.signIn('root@example.com')
    const page = await client.get('/console/audit?since=2099-01-01T00%3A00')
    expect(page.status).toBe(200)
    expect(page.text).toContain('No events in that time.')
    expect(page.text).not.toMatch(/events #(\d+)–#(\d+)/)
    // Times in an event's details read as times, not epoch milliseconds.
    await f.acme.start({ system: 'payroll', authid: 'alice' })
    const events = await client.get('/console/audit?type=challenge.started')
    expect(events.text).toMatch(/&quot;expiresAt&quot;:&quot;\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC&quot;/)
    // A time that is not one is said beside its field, not dropped without a word.
    const bad = await client.get('/console/audit?since=not-a-date')
    expect(bad.status).toBe(400)
    expect(bad.text).toMatch(/id="f-since-error"[^>]*>must be a date and time in UTC/)
  })

  it('signs in with a one-time PIN when that is the administrator’s method', async () => {
    await f.acme.console.grant({
      authid: 'pat@example.com',
      email: 'pat@example.com',
      role: 'viewer',
      method: 'pin',
    })
    const client = f.client()
    const form = await client.get('/console/sign-in')
    await client.post('/console/sign-in', {
      _form: hidden(form.text, '_form'),
      authid: 'pat@example.com',
      account: f.acme.id,
    })
    const wait = await client.get('/console/sign-in/wait')
    expect(wait.text).toContain('Sign-in code')
    const pin = f.notifier.last('pat@example.com').pin as string
    const wrong = await client.post('/console/sign-in/pin', {
      _form: hidden(wait.text, '_form'),
      pin: pin === '00000000' ? '11111111' : '00000000',
    })
    expect(wrong).toMatchObject({ status: 400, text: expect.stringContaining('That code is not right') })
    const right = await client.post('/console/sign-in/pin', { _form: hidden(wait.text, '_form'), pin })
    expect(right.location).toBe('/console/')
    expect(await client.get('/console/')).toMatchObject({
      status: 200,
      text: expect.stringContaining('pat@example.com'),
    })
  })

  it('shows the match code while waiting, and continues on its own once the link is confirmed', async () => {
    const client = f.client()
    const form = await client.get('/console/sign-in?next=%2Fconsole%2Fkeys')
    await client.post('/console/sign-in', {
      _form: hidden(form.text, '_form'),
      authid: 'root@example.com',
      account: f.acme.id,
      next: hidden(form.text, 'next'),
    })
    const wait = await client.get('/console/sign-in/wait')
    const code = /class="code">(\d{3})</.exec(wait.text)?.[1] as string
    const poll = () => client.post('/console/sign-in/poll', { _form: hidden(wait.text, '_form') })
    expect(JSON.parse((await poll()).text)).toEqual({ state: 'pending' })
    await f.engine.links.confirm(f.notifier.last().token ?? '', { matchCode: code })
    expect(JSON.parse((await poll()).text)).toEqual({ state: 'done', location: '/console/keys' })
    expect((await client.get('/console/keys')).status).toBe(200)
  })

  it('shows the first code again when asked twice within the resend cooldown, the one message sent', async () => {
    const client = f.client()
    const ask = async (authid: string) => {
      const form = await client.get('/console/sign-in?next=%2Fconsole%2F')
      await client.post('/console/sign-in', {
        _form: hidden(form.text, '_form'),
        authid,
        account: f.acme.id,
        next: hidden(form.text, 'next'),
      })
      return /class="code">(\d{3})</.exec((await client.get('/console/sign-in/wait')).text)?.[1]
    }
    await f.acme.settings.update({ sendLimits: { resendCooldownSeconds: 30 } })
    const sent = () => f.notifier.messages.filter((m) => m.to === 'root@example.com').length
    const before = sent()
    const first = await ask('root@example.com')
    f.clock.advance(20_000)
    // A second start would be refused (S18) and show a code no message carries: the first page again.
    expect(await ask('root@example.com')).toBe(first)
    expect(sent()).toBe(before + 1)
    const message = f.notifier.last('root@example.com')
    // Past the cooldown, a new message, and the page shows its code.
    f.clock.advance(15_000)
    await ask('root@example.com')
    expect(sent()).toBe(before + 2)
    expect(f.notifier.last('root@example.com')).not.toEqual(message)
    // Someone who is not an administrator sees the same: the first (decoy) code again.
    const decoy = await ask('nobody@example.com')
    expect(await ask('nobody@example.com')).toBe(decoy)
  })

  it('refuses to sign in to another origin after the sign-in (no open redirect)', async () => {
    const client = f.client()
    const form = await client.get('/console/sign-in?next=https%3A%2F%2Fevil.example%2F')
    expect(form.text).not.toContain('evil.example')
    const sneaky = await client.get('/console/sign-in?next=%2Fconsole%2F%2Fevil.example')
    expect(sneaky.text).not.toContain('evil.example')
  })

  it('explains a refused rule beside its field and keeps what was typed', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const added = await client.post('/console/systems/payroll/rules/add', {
      _csrf: csrf,
      'rule.name': 'office only',
      'when.ipIn': '203.0.113.0/24, not-a-range',
      'effect.deny': 'on',
    })
    expect(added.status).toBe(400)
    expect(added.text).toMatch(/rules\[0\]\.when\.ipIn\[1\]: [^<]+/)
    expect(added.text).toContain('id="f-when-ipIn"')
    expect(added.text).toContain('value="203.0.113.0/24, not-a-range"')
    expect(added.text).toMatch(/id="f-when-ipIn"[^>]*aria-invalid="true"/)
    const json = await client.post('/console/systems/payroll/rules', {
      _csrf: csrf,
      rules: '[{"name": "x", "effect": {}}',
    })
    expect(json).toMatchObject({ status: 400, text: expect.stringContaining('rules: is not valid JSON') })
    const shape = await client.post('/console/systems/payroll/rules', {
      _csrf: csrf,
      rules: JSON.stringify([
        { name: 'a', effect: { deny: true } },
        { name: 'a', effect: { deny: true } },
      ]),
    })
    expect(shape).toMatchObject({
      status: 400,
      text: expect.stringContaining('rules[1].name: is used by an earlier rule'),
    })
    expect((await f.acme.systems.get('payroll'))?.rules).toEqual([])
  })

  it('lists same-device return URLs one per line, and explains a refused one beside its field', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const policy = {
      _csrf: csrf,
      sensitivity: 'medium',
      'policies.passwordless.enabled': 'on',
      'policies.passwordless.channels': 'email',
    }
    const saved = await client.post('/console/systems/payroll', {
      ...policy,
      'policies.passwordless.returnUrls':
        'https://app.example.com/auth/return\r\n\r\nhttps://app.example.com/b?x=1,2',
    })
    expect(saved.status, saved.text.slice(0, 300)).toBe(303)
    expect((await f.acme.systems.get('payroll'))?.policies.passwordless.returnUrls).toEqual([
      'https://app.example.com/auth/return',
      'https://app.example.com/b?x=1,2',
    ])
    const page = await client.get('/console/systems/payroll')
    expect(page.text).toContain(
      'https://app.example.com/auth/return\nhttps://app.example.com/b?x=1,2</textarea>',
    )
    const refused = await client.post('/console/systems/payroll', {
      ...policy,
      'policies.passwordless.returnUrls': 'https://app.example.com/ok\nhttp://plain.example.com/',
    })
    expect(refused.status).toBe(400)
    expect(refused.text).toMatch(/id="f-policies-passwordless-returnUrls"[^>]*aria-invalid="true"/)
    expect(refused.text).toContain('policies.passwordless.returnUrls[1]')
    expect((await f.acme.systems.get('payroll'))?.policies.passwordless.returnUrls).toHaveLength(2)
    // Emptying the list turns same-device completion off.
    await client.post('/console/systems/payroll', { ...policy, 'policies.passwordless.returnUrls': '' })
    expect((await f.acme.systems.get('payroll'))?.policies.passwordless.returnUrls).toBeUndefined()
  })

  it('says why it is not available on a storage without a session store', async () => {
    const { createEngine } = await import('@flexsecure/core')
    const engine = createEngine({
      storage: { ...f.storage, consoleSessions: undefined },
      notifier: f.notifier,
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
    })
    const off = createConsole({ engine, secret: TEST_SECRET })
    expect(off.available).toBe(false)
    const page = await off.fetch(new Request('http://console.test/console/'))
    expect(page.status).toBe(503)
    expect(await page.text()).toContain('no console session store')
  })
})

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ConsoleFixture, consoleFixture, hidden } from '../test/console-fixture.js'
import { withDone } from './console-app.js'
import { parseKeyValues } from './console-context.js'

// Defects a walk through the console in a browser found (the seventeenth session): each test fails on
// the code before its fix.

let f: ConsoleFixture
beforeEach(async () => {
  f = await consoleFixture()
  await f.acme.console.grant({ authid: 'root@example.com', email: 'root@example.com', role: 'admin' })
})
afterEach(() => f.close())

const rule = (name: string) => ({ name, effect: { numberMatching: true } })

describe('the rules of a system', () => {
  it('refuses days or hours under "Any time" instead of saving a rule that always holds', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const added = await client.post('/console/systems/payroll/rules/add', {
      _csrf: csrf,
      'rule.name': 'office hours',
      'when.time': 'any',
      'time.days': 'mon',
      'time.from': '09:00',
      'effect.deny': 'on',
    })
    expect(added.status).toBe(400)
    expect(added.text).toContain('when.time: days or hours are filled in, but Time is')
    expect(added.text).toMatch(/id="f-when-time"[^>]*aria-invalid="true"/)
    expect((await f.acme.systems.get('payroll'))?.rules).toEqual([])
  })

  it('moves and removes the rule a page names, and nothing when the page is older than the rules', async () => {
    await f.acme.systems.update('payroll', { rules: [rule('a'), rule('b'), rule('c'), rule('d')] })
    const { client, csrf } = await f.signIn('root@example.com')
    const names = async () => (await f.acme.systems.get('payroll'))?.rules.map((r) => r.name)
    // Two tabs: the first removes b; the second, loaded before, removes c by the place it showed.
    await client.post('/console/systems/payroll/rules/remove', { _csrf: csrf, rule: 'b' })
    expect(await names()).toEqual(['a', 'c', 'd'])
    await client.post('/console/systems/payroll/rules/remove', { _csrf: csrf, rule: 'c' })
    expect(await names()).toEqual(['a', 'd'])
    await client.post('/console/systems/payroll/rules/move', { _csrf: csrf, rule: 'a', direction: 'down' })
    expect(await names()).toEqual(['d', 'a'])
    // A rule that is gone, or a form from before rules were named (by place only): nothing changes.
    for (const body of [{ rule: 'b' }, { index: '0' }] as Record<string, string>[]) {
      const stale = await client.post('/console/systems/payroll/rules/remove', { _csrf: csrf, ...body })
      expect(stale.location).toBe('/console/systems/payroll?done=rules-changed#rules')
    }
    const top = await client.post('/console/systems/payroll/rules/move', {
      _csrf: csrf,
      rule: 'd',
      direction: 'up',
    })
    expect(top.location).toBe('/console/systems/payroll?done=rules-changed#rules')
    expect(await names()).toEqual(['d', 'a'])
    const page = await client.get('/console/systems/payroll?done=rules-changed')
    expect(page.text).toContain('The rules had changed since that page was loaded')
  })
})

describe('notices after a change', () => {
  it('put ?done= before the #section, where the browser reads it', () => {
    expect(withDone('/console/systems/payroll#rules', 'rules-saved')).toBe(
      '/console/systems/payroll?done=rules-saved#rules',
    )
    expect(withDone('/console/settings?locale=fr#messages', 'settings-saved')).toBe(
      '/console/settings?locale=fr&done=settings-saved#messages',
    )
    expect(withDone('/console/users', undefined)).toBe('/console/users')
  })
})

describe('user attributes typed as key=value lines', () => {
  it('keep as text what would not read back as typed: leading zeros, digits past a double', () => {
    expect(
      parseKeyValues(
        'employee=007\nbadge=12345678901234567890\nlevel=42\nratio=1.5\nsize=1.50\nadmin=true',
        'x',
      ),
    ).toEqual({
      employee: '007',
      badge: '12345678901234567890',
      level: 42,
      ratio: 1.5,
      size: '1.50',
      admin: true,
    })
  })
})

describe('a confirmation asked twice within the resend cooldown', () => {
  it('shows the first waiting page again, the one message sent', async () => {
    await f.acme.settings.update({ sendLimits: { resendCooldownSeconds: 30 } })
    const { client, csrf } = await f.signIn('root@example.com')
    f.clock.advance(6 * 60_000) // past the 5 minutes a sign-in counts as fresh
    const sent = () => f.notifier.messages.filter((m) => m.to === 'root@example.com').length
    const before = sent()
    const ask = () => client.post('/console/confirm', { _csrf: csrf, next: '/console/keys' })
    expect((await ask()).location).toBe('/console/sign-in/wait')
    const first = /class="code">(\d{3})</.exec((await client.get('/console/sign-in/wait')).text)?.[1]
    f.clock.advance(10_000)
    expect((await ask()).location).toBe('/console/sign-in/wait')
    const wait = await client.get('/console/sign-in/wait')
    expect(/class="code">(\d{3})</.exec(wait.text)?.[1]).toBe(first)
    expect(sent()).toBe(before + 1)
    // The first link still completes the confirmation.
    await f.engine.links.confirm(
      f.notifier.last('root@example.com').token ?? '',
      first ? { matchCode: first } : {},
    )
    const done = await client.post('/console/sign-in/continue', { _form: hidden(wait.text, '_form') })
    expect(done.location).toBe('/console/keys?done=confirmed')
  })
})

describe('addresses', () => {
  it('keep a deep link’s query through the sign-in', async () => {
    const client = f.client()
    const asked = await client.get('/console/users?query=al')
    expect(asked.location).toBe(`/console/sign-in?next=${encodeURIComponent('/console/users?query=al')}`)
    const form = await client.get(asked.location as string)
    expect(hidden(form.text, 'next')).toBe('/console/users?query=al')
  })

  it('edit the templates of a locale typed in any case in that locale, not in English', async () => {
    const { client } = await f.signIn('root@example.com')
    expect((await client.get('/console/settings?locale-new=FR')).text).toContain('Templates in fr ')
    expect((await client.get('/console/settings?locale-new=pt-br')).text).toContain('Templates in pt-BR ')
  })
})

describe('assigning systems to a user', () => {
  /** The option values of every select labelled `label` on `html`, in page order. */
  const optionsOf = (html: string, label: string) =>
    [...html.matchAll(new RegExp(`<label for="([^"]+)"[^>]*>${label}</label>`, 'g'))].map((label) => {
      const select = new RegExp(`<select id="${label[1]}"[^>]*>(.*?)</select>`, 's').exec(html)?.[1] ?? ''
      return [...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1])
    })

  it('offers only the channels a system allows, says which method a channel is for, and flags an assignment its policy no longer allows', async () => {
    await f.acme.systems.create({
      name: 'mailonly',
      policies: { passwordless: { enabled: true, channels: ['email'] } },
    })
    await f.acme.users.create({ authid: 'dora', email: 'dora@example.com', phone: '+14155552671' })
    await f.acme.users.assign('dora', [{ system: 'payroll', method: 'pin', channel: 'sms' }])
    await f.acme.systems.update('payroll', { policies: { pin: { channels: ['email'] } } })
    const { client, csrf } = await f.signIn('root@example.com')
    const page = (await client.get('/console/users/dora')).text
    // The assign form's select; payroll's: its row's switch, then the assign form's. Its magic link still
    // allows SMS (the default channels), its PIN no longer does, and the option says so.
    expect(optionsOf(page, 'Channel for mailonly')).toEqual([['', 'email']])
    expect(optionsOf(page, 'Channel for payroll')).toEqual([
      ['', 'email', 'sms'],
      ['', 'email', 'sms'],
    ])
    expect(page).toContain('<option value="sms">SMS (Magic link only)</option>')
    // dora's PIN by SMS on payroll is refused now: her row says so.
    expect(page).toContain(
      'payroll no longer sends One-time PIN by SMS: its logins are refused until you switch it',
    )
    expect(await f.acme.start({ system: 'payroll', authid: 'dora' })).toMatchObject({
      result: 'security error',
    })
    await f.acme.systems.update('payroll', { policies: { passwordless: { channels: ['email'] } } })
    const later = (await client.get('/console/users/dora')).text
    // The assignment's own channel stays shown, selected, in its row's switch; the assign form offers email.
    expect(optionsOf(later, 'Channel for payroll')).toEqual([
      ['', 'email', 'sms'],
      ['', 'email'],
    ])
    expect(later).toContain('<option value="sms" selected="">SMS (not allowed now)</option>')
    const refused = await client.post('/console/users/dora/assign', {
      _csrf: csrf,
      system: 'payroll',
      method: 'pin',
      channel: 'sms',
    })
    // Switching it unchanged is refused in its own row; a refused assign form's summary links to the form.
    expect(refused.status).toBe(400)
    expect(refused.text).toMatch(
      /<tr><th scope="row">payroll<\/th>.*<p class="error" role="alert" id="f-switch">&#39;sms&#39; is not allowed for pin on &#39;payroll&#39;<\/p>/s,
    )
    expect(refused.text).not.toContain('class="error-summary"')
    const assigned = await client.post('/console/users/dora/assign', {
      _csrf: csrf,
      system: 'payroll',
      'method:payroll': 'pin',
      'channel:payroll': 'sms',
    })
    expect(assigned.status).toBe(400)
    const target = /<div class="error-summary".*?<a href="#([^"]+)"/s.exec(assigned.text)?.[1]
    expect(assigned.text).toContain(`id="${target}"`)
  })
})

describe('buttons', () => {
  it('name "Send now" by its visible words first (WCAG 2.5.3, label in name)', async () => {
    await f.acme.users.create({ authid: 'dora', email: 'dora@example.com' })
    await f.acme.users.assign('dora', [{ system: 'payroll', method: 'passwordless' }])
    const { DeliveryError } = await import('@flexsecure/core')
    f.notifier.failNext(new DeliveryError('temporary', '451 later'))
    await f.acme.start({ system: 'payroll', authid: 'dora' })
    const { client } = await f.signIn('root@example.com')
    const page = await client.get('/console/deliveries')
    expect(page.text).toContain('aria-label="Send now: the message to')
  })
})

describe('creating an API key', () => {
  it('makes one key when its form is sent twice (a reload of the page that showed the key)', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const page = await client.get('/console/keys')
    const form = { _csrf: csrf, _once: hidden(page.text, '_once'), name: 'web', scopes: 'auth' }
    const live = async () => (await f.acme.apiKeys.list()).filter((k) => k.name === 'web' && !k.revokedAt)
    const first = await client.post('/console/keys', form)
    expect(first.status).toBe(200)
    expect(first.text).toMatch(/id="new-key-value">fsk_/)
    const again = await client.post('/console/keys', form)
    expect(again.status).toBe(409)
    expect(again.text).toContain('This form was sent before: the key “web” was created then')
    expect(again.text).not.toMatch(/id="new-key-value">fsk_/)
    expect(await live()).toHaveLength(1)
    // A form refused for what was typed may be sent again once corrected; a new page's form is new.
    const other = hidden((await client.get('/console/keys')).text, '_once')
    expect(other).not.toBe(form._once)
    const refused = await client.post('/console/keys', { ...form, _once: other, name: '' })
    expect(refused.status).toBe(400)
    expect((await client.post('/console/keys', { ...form, _once: other, name: 'app' })).status).toBe(200)
  })
})

describe('a viewer', () => {
  it('sees why there is no form at the address of a create form, not a form that answers 403', async () => {
    await f.acme.console.grant({ authid: 'view@example.com', email: 'view@example.com', role: 'viewer' })
    const { client } = await f.signIn('view@example.com')
    for (const [path, action] of [
      ['/console/systems/new', '/console/systems'],
      ['/console/users/new', '/console/users'],
    ]) {
      const page = await client.get(path as string)
      expect(page.status, path).toBe(403)
      expect(page.text, path).toContain('Only administrators can do this')
      expect(page.text, path).not.toContain(`action="${action}"`)
    }
  })
})

describe('account settings', () => {
  it('take a cleared number as its default again, and say what the default is', async () => {
    const { DEFAULT_SETTINGS } = await import('@flexsecure/core')
    await f.acme.settings.update({ sendLimits: { resendCooldownSeconds: 10, perAccountPerDay: 123 } })
    const { client, csrf } = await f.signIn('root@example.com')
    const page = await client.get('/console/settings')
    expect(page.text).toContain(`Empty: the default, ${DEFAULT_SETTINGS.sendLimits.resendCooldownSeconds}.`)
    const saved = await client.post('/console/settings', {
      _csrf: csrf,
      'sendLimits.resendCooldownSeconds': '',
      'sendLimits.perUserPerHour': '7',
    })
    expect(saved.location).toBe('/console/settings?done=settings-saved')
    const { sendLimits } = await f.acme.settings.get()
    expect(sendLimits.resendCooldownSeconds).toBe(DEFAULT_SETTINGS.sendLimits.resendCooldownSeconds)
    expect(sendLimits.perUserPerHour).toBe(7)
    // A field the form did not send keeps what was saved.
    expect(sendLimits.perAccountPerDay).toBe(123)
  })
})

describe('the sign-in form', () => {
  it('says a user id is too long rather than missing', async () => {
    const client = f.client()
    const form = await client.get('/console/sign-in')
    const sent = await client.post('/console/sign-in', {
      _form: hidden(form.text, '_form'),
      authid: 'a'.repeat(300),
      account: f.acme.id,
    })
    expect(sent.status).toBe(400)
    expect(sent.text).toContain('A user id has at most 256 characters.')
  })
})

describe('a rule refused for its time zone', () => {
  it('marks the time zone field', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const added = await client.post('/console/systems/payroll/rules/add', {
      _csrf: csrf,
      'rule.name': 'office hours',
      'when.time': 'timeIn',
      'time.from': '09:00',
      'time.to': '17:00',
      'time.timeZone': 'Mars/Olympus',
      'effect.deny': 'on',
    })
    expect(added.status).toBe(400)
    expect(added.text).toMatch(/id="f-time-timeZone"[^>]*aria-invalid="true"/)
  })
})

describe('a refused return origin', () => {
  it('is marked beside the one text area that lists them', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const saved = await client.post('/console/settings', {
      _csrf: csrf,
      returnOrigins: 'https://app.example.com\nnot an origin',
    })
    expect(saved.status).toBe(400)
    expect(saved.text).toMatch(/id="f-returnOrigins"[^>]*aria-invalid="true"/)
  })
})

describe('a system’s message overrides refused', () => {
  it('open their section, so the error beside the field shows', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const page = await client.get('/console/systems/payroll')
    expect(page.text).toMatch(/<details>\s*<summary>Message overrides/)
    const saved = await client.post('/console/systems/payroll', {
      _csrf: csrf,
      'policies.passwordless.enabled': 'on',
      'policies.passwordless.channels': 'email',
      'policies.pin.enabled': 'on',
      'policies.pin.channels': 'email',
      messages: '{"appName": ',
    })
    expect(saved.status).toBe(400)
    expect(saved.text).toMatch(/<details open="">\s*<summary>Message overrides/)
  })
})

describe('the audit trail filtered until a minute', () => {
  it('takes in the events of that minute', async () => {
    const { client } = await f.signIn('root@example.com')
    // The sign-in's own events happened at the fixture clock's time: filter until that minute.
    const at = new Date(f.clock.now())
    const minute = at.toISOString().slice(0, 16)
    const page = await client.get(`/console/audit?until=${encodeURIComponent(minute)}`)
    expect(page.status).toBe(200)
    expect(page.text).not.toContain('No events in that time.')
    const before = new Date(at.getTime() - 60_000).toISOString().slice(0, 16)
    const earlier = await client.get(
      `/console/audit?until=${encodeURIComponent(before)}&type=console.session.created`,
    )
    expect(earlier.text).toContain('No events in that time.')
  })
})

describe('a viewer on pages with forms', () => {
  it('sees the policy, the user and the security settings, not editable', async () => {
    await f.acme.console.grant({ authid: 'view@example.com', email: 'view@example.com', role: 'viewer' })
    const { client } = await f.signIn('view@example.com')
    for (const path of ['/console/systems/payroll', '/console/users/alice', '/console/settings']) {
      const page = await client.get(path)
      expect(page.text, path).toContain('<fieldset class="read-only" disabled="">')
    }
    // An administrator's forms are editable.
    const admin = await f.signIn('root@example.com')
    expect((await admin.client.get('/console/systems/payroll')).text).not.toContain('class="read-only"')
  })
})

describe('the notice after saving rules or messages', () => {
  it('is shown in the section the page lands on, not at its top', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const added = await client.post('/console/systems/payroll/rules/add', {
      _csrf: csrf,
      'rule.name': 'match',
      'effect.numberMatching': 'on',
    })
    expect(added.location).toBe('/console/systems/payroll?done=rules-saved#rules')
    const page = (await client.get('/console/systems/payroll?done=rules-saved')).text
    expect(page).toMatch(
      /<h2 id="rules">Rules<\/h2><p class="flash" role="status">The rules were saved\.<\/p>/,
    )
    expect(page.match(/class="flash"/g)).toHaveLength(1)
    const saved = await client.post('/console/settings/messages', {
      _csrf: csrf,
      locale: 'en',
      appName: 'Acme',
    })
    expect(saved.location).toBe('/console/settings?locale=en&done=messages-saved#messages')
    const settings = (await client.get('/console/settings?locale=en&done=messages-saved')).text
    expect(settings).toMatch(
      /<h2 id="messages">Messages<\/h2><p class="flash" role="status">The messages were saved\.<\/p>/,
    )
  })
})

describe('verifying the audit chain from the audit page', () => {
  it('comes back to the page with its filters', async () => {
    const { client, csrf } = await f.signIn('root@example.com')
    const path = '/console/audit?type=console.session.created&since=2026-01-01T00%3A00'
    const page = await client.get(`${path}&done=verified`)
    // As a browser reads the attribute: `&amp;` is `&`.
    const back = hidden(page.text, 'back').replaceAll('&amp;', '&')
    expect(back).toBe(path)
    const verified = await client.post('/console/audit/verify', { _csrf: csrf, back })
    expect(verified.location).toBe(`${path}&done=verified`)
  })
})

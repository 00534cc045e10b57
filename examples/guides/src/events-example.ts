// docs/events.md: every event the engine emits, heard by a host's listeners while a script plays
// the logins that cause them (a manual clock and a capturing notifier stand in for time and mail).
import { createEngine, DeliveryError } from '@flexsecure/core'
import { captureNotifier, manualClock } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'

const notifier = captureNotifier()
const clock = manualClock()
const engine = createEngine({
  storage: sqliteStorage({ filename: ':memory:' }),
  notifier,
  clock,
  secret: 'at-least-32-characters-from-your-vault',
  links: { baseUrl: 'https://auth.example.com' },
})
await engine.migrate()
const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
await acme.systems.create({
  name: 'payroll',
  policies: {
    passwordless: { enabled: true, returnUrls: ['https://app.example.com/auth/return'] },
    pin: { enabled: true },
  },
})
await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
await acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
await acme.users.create({ authid: 'bob', email: 'bob@example.com' })
await acme.users.assign('bob', [{ system: 'payroll', method: 'pin' }])
const log = (line: string) => console.log(line)

// The host's listeners. Events come after the change is committed; a listener that throws is logged
// by the engine and changes nothing. They carry no secret: no PIN, link, token or address.
engine.events.on('challenge.started', (e) =>
  log(`started ${e.system}/${e.authid} by ${e.method} on ${e.channel}, expires ${e.expiresAt.toISOString()}`),
)
engine.events.on('challenge.delivery', (e) => log(`delivery ${e.status} on ${e.channel} for ${e.authid}`))
engine.events.on('challenge.confirmed', (e) => log(`confirmed the link of ${e.authid}`))
engine.events.on('challenge.authenticated', (e) => log(`authenticated ${e.authid} by ${e.method}`))
engine.events.on('challenge.failed', (e) => log(`failed ${e.authid}: ${e.reason}${e.final ? ', final' : ''}`))
engine.events.on('challenge.expired', (e) => log(`expired ${e.authid}'s ${e.method} login`))
engine.events.on('completion.issued', (e) => log(`sent ${e.authid}'s browser to ${e.returnUrl} with a code`))
engine.events.on('completion.redeemed', (e) => log(`redeemed ${e.authid}'s code for ${e.system}`))

// A link login: started, delivered, confirmed, authenticated.
await acme.start({ system: 'payroll', authid: 'alice' })
await engine.links.confirm(notifier.last().token ?? '')
await acme.check({ system: 'payroll', authid: 'alice' })

// A PIN login with one wrong PIN, then the right one; a check after that finds nothing live.
await acme.start({ system: 'payroll', authid: 'bob' })
const wrong = notifier.last().pin === '00000000' ? '11111111' : '00000000'
await acme.check({ system: 'payroll', authid: 'bob', pin: wrong })
await acme.check({ system: 'payroll', authid: 'bob', pin: notifier.last().pin ?? '' })
await acme.check({ system: 'payroll', authid: 'bob' })

// Same device: the browser that confirms is sent back with a code, which the host's back end redeems.
clock.advance(60_000)
await acme.start({ system: 'payroll', authid: 'alice', returnUrl: 'https://app.example.com/auth/return' })
const confirmed = await engine.links.confirm(notifier.last().token ?? '')
if (confirmed.result === 'confirmed' && confirmed.completionUrl)
  await acme.redeem(new URL(confirmed.completionUrl).searchParams.get('code') ?? '')

// A mail server that refuses for now: the outbox retries on `runDue` (the first retry of a 10-minute
// link comes within 16 s); nobody confirms, so it expires.
clock.advance(60_000)
notifier.failNext(new DeliveryError('temporary', '421 try again later'))
await acme.start({ system: 'payroll', authid: 'alice' })
clock.advance(16_000)
await engine.runDue()
clock.advance(11 * 60_000)
await engine.runDue()
await engine.close()

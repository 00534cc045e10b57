import { createEngine } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'

const notifier = captureNotifier()
const engine = createEngine({ storage: sqliteStorage({ filename: ':memory:' }), notifier,
  secret: 'at-least-32-characters-from-your-vault', links: { baseUrl: 'https://auth.example.com' } })
await engine.migrate()
const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
await acme.systems.create({ name: 'payroll', sensitivity: 'high', policies: { passwordless: { enabled: true } },
  rules: [
    { name: 'outside-office', when: { ipNotIn: ['203.0.113.0/24'], sensitivityAtLeast: 'high' },
      effect: { requireMemorizedPin: true, maxLifetimeSeconds: 300 } },
    { name: 'exports', when: { action: ['export'] }, effect: { numberMatching: true } },
  ] })
await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
await acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
await acme.users.setPin('alice', '582914') // the PIN Alice knows; weak ones are refused

const login = { system: 'payroll', authid: 'alice' }
const started = await acme.start({ ...login, context: { ip: '198.51.100.7', action: 'export' } })
console.log(started) // layers: ['passwordless', 'memorized_pin'], matchCode: '…' to show Alice
const matchCode = 'matchCode' in started ? started.matchCode : undefined
await engine.links.confirm(notifier.last().token ?? '', { matchCode }) // she types the code on the page
console.log(await acme.check(login)) // { result: 'pending', next: 'memorized_pin', … }
console.log(await acme.check({ ...login, pin: '582914' })) // { result: 'authenticated', … }

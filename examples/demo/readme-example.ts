import { createEngine } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'

const notifier = captureNotifier() // stands in for SMTP and SMS: it keeps every message
const engine = createEngine({ storage: sqliteStorage({ filename: ':memory:' }), notifier,
  secret: 'at-least-32-characters-from-your-vault', links: { baseUrl: 'https://auth.example.com' } })
await engine.migrate()
const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
await acme.systems.create({ name: 'payroll', policies: { passwordless: { enabled: true } } })
await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
await acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])

await acme.start({ system: 'payroll', authid: 'alice' }) // emails Alice a sign-in link
await engine.links.confirm(notifier.last().token ?? '') // she opens it and presses Confirm
console.log(await acme.check({ system: 'payroll', authid: 'alice' })) // { result: 'authenticated', … }

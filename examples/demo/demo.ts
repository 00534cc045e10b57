// `pnpm demo`: a scripted walk through both login methods on a SQLite file, printing each step.
// `pnpm start` runs the HTTP server instead.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createEngine } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'

const filename = resolve(process.env.FLEXSECURE_DEMO_DB ?? 'data/flexsecure-demo.db')
mkdirSync(dirname(filename), { recursive: true })

const notifier = captureNotifier()
const engine = createEngine({
  storage: sqliteStorage({ filename }),
  notifier,
  secret: 'demo-secret-demo-secret-demo-secret', // a real deployment reads this from its vault
  links: { baseUrl: 'http://localhost:8080' },
})
const step = (text: string, value?: unknown) =>
  console.log(`• ${text}${value === undefined ? '' : `\n    ${JSON.stringify(value)}`}`)

await engine.migrate()
const account = await engine.accounts.create({ name: 'Demo Corp' })
const acme = engine.account(account.id)
step(`database ${filename}; account ${account.name} (${account.id})`)
await acme.systems.create({
  name: 'payroll',
  policies: { passwordless: { enabled: true }, pin: { enabled: true } },
})
await acme.systems.create({ name: 'wiki', policies: { passwordless: { enabled: true } } })
await acme.users.create({
  authid: 'alice',
  displayName: 'Alice',
  email: 'alice@example.com',
  phone: '+14155552671',
})
await acme.users.assign('alice', [
  { system: 'payroll', method: 'pin', channel: 'sms' },
  { system: 'wiki', method: 'passwordless' },
])
step('systems payroll (PIN by SMS) and wiki (magic link by email) assigned to alice')

// 1. Magic link: start, the user confirms the link, the host's poll sees it.
step('wiki start', await acme.start({ system: 'wiki', authid: 'alice' }))
const mail = notifier.last()
step(`email to ${mail.to}: "${mail.subject}"`)
step('wiki check (host polls)', await acme.check({ system: 'wiki', authid: 'alice' }))
step('link page shows', await engine.links.inspect(mail.token ?? ''))
step('alice presses Confirm', await engine.links.confirm(mail.token ?? ''))
step('wiki check', await acme.check({ system: 'wiki', authid: 'alice' }))
step('wiki check again (answered once)', await acme.check({ system: 'wiki', authid: 'alice' }))

// 2. One-time PIN: start, a wrong PIN, then the right one.
step('payroll start', await acme.start({ system: 'payroll', authid: 'alice' }))
const sms = notifier.last()
step(`SMS to ${sms.to}: "${sms.text}"`)
step(
  'payroll check with a wrong PIN',
  await acme.check({ system: 'payroll', authid: 'alice', pin: '00000000' }),
)
step(
  'payroll check with the PIN',
  await acme.check({ system: 'payroll', authid: 'alice', pin: sms.pin ?? '' }),
)

const { events: trail } = await acme.audit.list()
step(`audit trail: ${trail.length} events`)
for (const event of trail)
  console.log(`    #${event.seq} ${event.type} ${event.outcome}${event.reason ? ` (${event.reason})` : ''}`)
await engine.close()

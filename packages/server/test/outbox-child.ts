// The process the SIGKILL test kills: it starts logins on a SQLite file whose provider never answers,
// so their deliveries are stored and claimed but never handed over, says so, and waits to be killed.
import { createEngine, type Notifier } from '@flexsecure/core'
import { cheapHasher } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'

const [filename, secret, accountId, countText] = process.argv.slice(2) as [string, string, string, string]
const count = Number(countText)
const neverAnswers: Notifier = { send: () => new Promise(() => {}) }
const engine = createEngine({
  storage: sqliteStorage({ filename }),
  notifier: neverAnswers,
  secret,
  links: { baseUrl: 'https://auth.example.com' },
  hasher: cheapHasher(),
  // The test decides who runs the outbox (the server it starts after the kill), not this child's timers.
  background: false,
})
const acme = engine.account(accountId)

// `challenge.started` is emitted after the issuing transaction commits, and before the send.
let started = 0
engine.events.on('challenge.started', () => {
  started += 1
  if (started === count) process.send?.({ type: 'queued' })
})
for (let i = 0; i < count; i++) void acme.start({ system: 'payroll', authid: `user${i}` })

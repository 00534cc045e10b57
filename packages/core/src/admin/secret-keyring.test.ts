import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeliveryError } from '../domain/errors.js'
import { createEngine, type Engine } from '../engine.js'
import { payloadCipher } from '../outbox/outbox.js'
import {
  captureNotifier,
  cheapHasher,
  type MemoryStorage,
  manualClock,
  memoryStorage,
} from '../testing/index.js'
import { secretFingerprint } from './secret-keyring.js'

// SECURITY.md S33: the secret is fingerprinted in the database; another secret is refused at start;
// rotation is a keyring whose first secret seals and whose older ones still open and verify.

const OLD = 'old-secret-old-secret-old-secret-0001'
const NEW = 'new-secret-new-secret-new-secret-0002'
const login = { system: 'payroll', authid: 'alice' }

/** The database every engine of a test opens, as processes share one; closing an engine keeps it. */
let database: MemoryStorage
const opened: Engine[] = []
const clock = manualClock()
beforeEach(() => {
  database = memoryStorage()
})
afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close().catch(() => {})
})

function engineWith(secret: string, previousSecrets?: string[], notifier = captureNotifier()) {
  const engine = createEngine({
    storage: { ...database, close: async () => {} },
    notifier,
    clock,
    secret,
    ...(previousSecrets ? { previousSecrets } : {}),
    links: { baseUrl: 'https://auth.example.com' },
    hasher: cheapHasher(),
  })
  opened.push(engine)
  return engine
}

/** A database made with OLD: an account, a user, a login, and one message still waiting to be sent. */
async function databaseMadeWithOld() {
  const notifier = captureNotifier()
  const engine = engineWith(OLD, undefined, notifier)
  await engine.migrate()
  const { id } = await engine.accounts.create({ name: 'Acme' })
  const acme = engine.account(id)
  await acme.systems.create({ name: 'payroll', policies: { pin: { enabled: true } } })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
  await acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  notifier.failNext(new DeliveryError('temporary', 'mailbox busy'))
  await acme.start(login)
  await engine.close()
  opened.splice(opened.indexOf(engine), 1)
  return id
}

/** What is stored, as a look at the database would show it. */
const stored = () => database.inspect()

describe('the secret fingerprint', () => {
  it('stores a keyed fingerprint of the secret, never the secret', async () => {
    await databaseMadeWithOld()
    const rows = stored().engineValues
    expect(rows).toEqual([{ name: 'secret_fingerprint', value: secretFingerprint(OLD) }])
    expect(JSON.stringify(rows)).not.toContain(OLD)
    expect(secretFingerprint(OLD)).not.toBe(secretFingerprint(NEW))
  })

  it('refuses to start on the database with another secret, in one line', async () => {
    await databaseMadeWithOld()
    const refused = engineWith(NEW).migrate()
    await expect(refused).rejects.toMatchObject({ name: 'SecretMismatchError' })
    await expect(refused).rejects.toThrow(/^the engine secret does not match this database[^\n]*$/)
  })

  it('refuses a database from before fingerprints when another secret sealed its audit', async () => {
    await databaseMadeWithOld()
    database.tamper('engineValues', () => null)
    await expect(engineWith(NEW).migrate()).rejects.toMatchObject({ name: 'SecretMismatchError' })
    // The right secret claims it again.
    await expect(engineWith(OLD).checkSecret()).resolves.toBe('claimed')
  })
})

describe('rotation with a keyring', () => {
  it('makes the new secret primary: old events verify, new ones are sealed anew, waiting payloads re-sealed, all audited', async () => {
    const id = await databaseMadeWithOld()
    const [before] = stored().deliveries.filter((d) => d.payload !== null)
    expect(before).toBeDefined()

    const notifier = captureNotifier()
    const rotated = engineWith(NEW, [OLD], notifier)
    await expect(rotated.checkSecret()).resolves.toBe('rotated')
    expect(stored().engineValues.map((row) => row.value)).toEqual([secretFingerprint(NEW)])

    // The waiting message is sealed under NEW alone now, and still goes out.
    const after = stored().deliveries.find((d) => d.id === before?.id)
    expect(after?.payload).not.toBe(before?.payload)
    expect(payloadCipher(NEW).open(String(before?.id), String(after?.payload))).toMatchObject({
      to: 'alice@example.com',
    })
    clock.advance(120_000)
    expect((await rotated.deliverDue()).delivered).toBe(1)

    const acme = rotated.account(id)
    const pin = notifier.last().pin as string
    expect(await acme.check({ ...login, pin })).toMatchObject({ result: 'authenticated' })
    expect(await acme.audit.verify()).toMatchObject({ ok: true })
    expect((await acme.audit.list({ type: 'engine.secret.rotated' })).events).toHaveLength(1)

    // The old secret alone is refused from now on; the new one alone cannot vouch for old events.
    await expect(engineWith(OLD).migrate()).rejects.toMatchObject({ name: 'SecretMismatchError' })
    const newOnly = engineWith(NEW)
    await newOnly.migrate()
    expect(await newOnly.account(id).audit.verify()).toMatchObject({ ok: false, firstBadSeq: 1 })
  })

  it('rotates once when two processes start with the new keyring together', async () => {
    const id = await databaseMadeWithOld()
    const results = await Promise.all([
      engineWith(NEW, [OLD]).rotateSecret(),
      engineWith(NEW, [OLD]).rotateSecret(),
    ])
    expect(results.filter((r) => r !== null && r.accounts === 1)).toHaveLength(1)
    const acme = engineWith(NEW, [OLD]).account(id)
    expect((await acme.audit.list({ type: 'engine.secret.rotated' })).events).toHaveLength(1)
    expect(await acme.audit.verify()).toMatchObject({ ok: true })
  })

  it('refuses a keyring that repeats a secret or holds a short one', () => {
    expect(() => engineWith(NEW, [NEW])).toThrow(expect.objectContaining({ field: 'previousSecrets' }))
    expect(() => engineWith(NEW, ['short'])).toThrow(expect.objectContaining({ field: 'previousSecrets[0]' }))
  })
})

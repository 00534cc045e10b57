// Issue 6's "done when": the outbox against a real SMTP server that goes away and comes back, and a
// process killed with deliveries in flight. Real parts: a SQLite file, nodemailer, smtp-server.
import { fork } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createEngine, type Engine, type Logger } from '@flexsecure/core'
import { cheapHasher, manualClock } from '@flexsecure/core/testing'
import { smtpNotifier } from '@flexsecure/smtp'
import { sqliteStorage } from '@flexsecure/sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LoopbackSmtp, loopbackSmtp } from '../../../adapters/smtp/test/loopback-smtp.js'

const SECRET = 'outbox-test-secret-outbox-test-secret'
const USERS = 20

let dir: string
let filename: string
let smtp: LoopbackSmtp | null
const logs: string[] = []
const logger: Logger = {
  warn: (message, fields) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`),
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-outbox-'))
  filename = join(dir, 'flexsecure.db')
  logs.length = 0
  smtp = null
})
afterEach(async () => {
  await smtp?.close()
  rmSync(dir, { recursive: true, force: true })
})

function engineOn(port: number, clock = manualClock(Date.now())) {
  const notifier = smtpNotifier({
    transport: { host: '127.0.0.1', port, secure: false, ignoreTLS: true },
    from: 'Acme sign-in <auth@acme.example>',
  })
  const engine = createEngine({
    storage: sqliteStorage({ filename }),
    notifier,
    secret: SECRET,
    links: { baseUrl: 'https://auth.example.com' },
    hasher: cheapHasher(),
    clock,
    logger,
  })
  return { engine, clock, close: () => engine.close().then(() => notifier.close()) }
}

/** An account with one PIN system and `USERS` users on email only. */
async function seed(engine: Engine): Promise<string> {
  await engine.migrate()
  const { id } = await engine.accounts.create({ name: 'Acme' })
  const acme = engine.account(id)
  await acme.systems.create({ name: 'payroll', policies: { pin: { enabled: true, channels: ['email'] } } })
  for (let i = 0; i < USERS; i++) {
    await acme.users.create({ authid: `user${i}`, email: `user${i}@example.com` })
    await acme.users.assign(`user${i}`, [{ system: 'payroll', method: 'pin' }])
  }
  return id
}

/** The PIN each user received, by address; fails on a second message to anyone. */
function pinsByAddress(server: LoopbackSmtp): Map<string, string> {
  const pins = new Map<string, string>()
  for (const mail of server.received) {
    const to = mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined
    const pin = /\b(\d{8})\b/.exec(mail.text ?? '')?.[1]
    expect(to && pin, 'each message names one address and carries a PIN').toBeTruthy()
    expect(pins.has(to as string), `a second message reached ${to}`).toBe(false)
    pins.set(to as string, pin as string)
  }
  return pins
}

/** Every byte SQLite wrote (database, WAL, shared memory), as text to search. */
const databaseBytes = () =>
  ['', '-wal', '-shm']
    .map((suffix) => filename + suffix)
    .filter(existsSync)
    .map((file) => readFileSync(file).toString('latin1'))
    .join('')

describe('the outbox with a real SMTP server', () => {
  it('delivers every PIN exactly once when the server is down at start and back within the lifetime', async () => {
    smtp = await loopbackSmtp()
    const port = smtp.port
    const { engine, clock, close } = engineOn(port)
    const acme = engine.account(await seed(engine))
    // The server works, then stops mid-run.
    const before = await acme.start({ system: 'payroll', authid: 'user0' })
    expect(before).toMatchObject({ delivery: 'sent' })
    expect(smtp.received).toHaveLength(1)
    await smtp.close()
    smtp = null
    clock.advance(60_000)

    for (let i = 0; i < USERS; i++)
      expect(await acme.start({ system: 'payroll', authid: `user${i}` })).toMatchObject({
        result: 'success',
        delivery: 'failed',
      })
    expect(await acme.check({ system: 'payroll', authid: 'user7' })).toMatchObject({
      result: 'pending',
      delivery: 'failed',
    })

    // Back on the same port, 30 s later: well within the PINs' 5 minutes.
    smtp = await loopbackSmtp({ port })
    clock.advance(30_000)
    expect((await engine.runDue()).delivered).toBe(USERS)
    for (let i = 0; i < 5; i++) {
      clock.advance(30_000)
      expect((await engine.runDue()).delivered).toBe(0)
    }
    const pins = pinsByAddress(smtp)
    expect(pins.size).toBe(USERS)
    for (let i = 0; i < USERS; i++) {
      const pin = pins.get(`user${i}@example.com`) as string
      expect(await acme.check({ system: 'payroll', authid: `user${i}`, pin })).toMatchObject({
        result: 'authenticated',
      })
    }

    // The audit shows each message queued, refused while the server was away, retried and sent.
    const { events } = await acme.audit.list({ type: 'delivery', limit: 1000 })
    const byChallenge = new Map<string | null, typeof events>()
    for (const event of events) {
      if (before.result === 'success' && event.challengeId === before.challengeId) continue
      byChallenge.set(event.challengeId, [...(byChallenge.get(event.challengeId) ?? []), event])
    }
    expect(byChallenge.size).toBe(USERS)
    for (const trail of byChallenge.values()) {
      expect(trail.map((e) => e.outcome)).toEqual(['queued', 'failed', 'sent'])
      expect(trail[1]?.details).toMatchObject({
        kind: 'temporary',
        error: expect.stringContaining('ECONNREFUSED'),
      })
    }
    await close()

    const bytes = databaseBytes()
    expect(bytes, 'control: the scan reads what the tables hold').toContain('user7@example.com')
    for (const pin of pins.values()) expect(bytes).not.toContain(pin)
    for (const line of logs) for (const pin of pins.values()) expect(line).not.toContain(pin)
  })
})

describe('the outbox after SIGKILL', () => {
  it('sends every message queued by a killed process exactly once after a restart', async () => {
    smtp = await loopbackSmtp()
    const seeding = engineOn(smtp.port)
    const accountId = await seed(seeding.engine)
    await seeding.close()

    // A process starts the logins with a provider that never answers, and is killed mid-send.
    const child = fork(
      fileURLToPath(new URL('../test/outbox-child.ts', import.meta.url)),
      [filename, SECRET, accountId, String(USERS)],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    )
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { type?: string }) => m.type === 'queued' && resolve())
      child.on('exit', (code) => reject(new Error(`the child exited early (${code})`)))
    })
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    expect(smtp.received).toHaveLength(0)

    // Restarted: nothing is sent while the dead process's claims last, everything once they lapse.
    const { engine, clock, close } = engineOn(smtp.port)
    expect((await engine.runDue()).delivered).toBe(0)
    clock.advance(61_000)
    expect((await engine.runDue()).delivered).toBe(USERS)
    clock.advance(60_000)
    expect((await engine.runDue()).delivered).toBe(0)
    const pins = pinsByAddress(smtp)
    expect(pins.size).toBe(USERS)
    const acme = engine.account(accountId)
    for (let i = 0; i < USERS; i++)
      expect(
        await acme.check({
          system: 'payroll',
          authid: `user${i}`,
          pin: pins.get(`user${i}@example.com`) as string,
        }),
      ).toMatchObject({ result: 'authenticated' })
    await close()
    const bytes = databaseBytes()
    for (const pin of pins.values()) expect(bytes).not.toContain(pin)
  })
})

import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine } from '@flexsecure/core'
import { captureNotifier, cheapHasher, manualClock } from '@flexsecure/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openReadOnly, TEST_SECRET } from '../test/engine-fixture.js'
import { sqliteStorage } from './sqlite-storage.js'

// docs/security.md S8 and S26: start 100 challenges of each method and create 3 keys, then look for every
// PIN, link token and key, in plain, hex and base64, in every column of every table and in the raw
// database, WAL and SHM files. Ten-digit PINs make a chance match in unrelated bytes negligible. Core's
// secrets-at-rest.test.ts looks at what the engine hands any storage; this looks at the bytes SQLite writes.

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex')

describe('secrets at rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-secrets-'))
  const filename = join(dir, 'secrets.db')
  const secrets: string[] = []
  let database: ReturnType<typeof openReadOnly>

  beforeAll(async () => {
    const notifier = captureNotifier()
    const engine = createEngine({
      storage: sqliteStorage({ filename }),
      notifier,
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
      clock: manualClock(),
      hasher: cheapHasher(),
      // 200 starts at one instant: far past a key's burst (S31), which is not what this test is about.
      throttle: false,
    })
    await engine.migrate()
    const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
    await acme.systems.create({
      name: 'app',
      policies: { passwordless: { enabled: true }, pin: { enabled: true, pinLength: 10 } },
    })
    for (let i = 0; i < 200; i++) {
      const authid = `user${i}`
      await acme.users.create({ authid, email: `${authid}@example.com` })
      await acme.users.assign(authid, [{ system: 'app', method: i % 2 ? 'pin' : 'passwordless' }])
      expect((await acme.start({ system: 'app', authid })).result).toBe('success')
      const message = notifier.last()
      secrets.push((message.pin ?? message.token) as string)
    }
    for (const name of ['a', 'b', 'c'])
      secrets.push((await acme.apiKeys.create({ name, scopes: ['auth'] })).key)
    await engine.close()
    database = openReadOnly(filename)
  })

  afterAll(() => {
    database.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const forms = (secret: string) => [
    secret,
    Buffer.from(secret).toString('hex'),
    Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    Buffer.from(secret).toString('base64url'),
  ]

  it('issued 100 PINs, 100 links and 3 keys to look for', () => {
    expect(secrets.filter((s) => /^\d{10}$/.test(s))).toHaveLength(100)
    expect(secrets.filter((s) => /^[\w-]{32}$/.test(s))).toHaveLength(100)
    expect(secrets.filter((s) => s.startsWith('fsk_'))).toHaveLength(3)
  })

  it('finds none of them in any column of any table', () => {
    const tables = database.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as {
      name: string
    }[]
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['fs_challenges', 'fs_api_keys', 'fs_audit_events']),
    )
    // Every cell, separated so no match can span two of them.
    const cells: string[] = []
    for (const { name } of tables)
      for (const row of database.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[])
        for (const value of Object.values(row))
          if (value !== null) cells.push(Buffer.isBuffer(value) ? value.toString('latin1') : String(value))
    expect(cells.length).toBeGreaterThan(2000)
    const everything = cells.join('\u0000')
    const found = secrets.flatMap(forms).filter((form) => everything.includes(form))
    expect(found).toEqual([])
    // The control: what is meant to be stored, each link token's SHA-256, is found by the same scan.
    const tokens = secrets.filter((s) => /^[\w-]{32}$/.test(s))
    expect(tokens.filter((token) => everything.includes(sha256Hex(token)))).toHaveLength(100)
  })

  it('finds none of them in the raw database, WAL and SHM files', () => {
    const files = [filename, `${filename}-wal`, `${filename}-shm`].filter((file) => existsSync(file))
    expect(files[0]).toBe(filename)
    let hashesSeen = 0
    for (const file of files) {
      const bytes = readFileSync(file).toString('latin1')
      expect(secrets.flatMap(forms).filter((form) => bytes.includes(form))).toEqual([])
      hashesSeen += secrets.filter((s) => bytes.includes(sha256Hex(s))).length
    }
    expect(hashesSeen).toBeGreaterThanOrEqual(100)
  })
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flexsecureInProcess } from '../test/cli-in-process.js'

let dir: string
const saved = { db: process.env.FLEXSECURE_DB, secret: process.env.FLEXSECURE_SECRET }
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-cli-commands-'))
  process.env.FLEXSECURE_DB = join(dir, 'data', 'fs.db')
  process.env.FLEXSECURE_SECRET = 's'.repeat(40)
})
afterAll(() => {
  process.env.FLEXSECURE_DB = saved.db
  process.env.FLEXSECURE_SECRET = saved.secret
  rmSync(dir, { recursive: true, force: true })
})

const flexsecure = flexsecureInProcess

describe('the operator CLI', () => {
  let account: string

  it('refuses to work on a database that does not exist yet, and says to migrate', async () => {
    expect(await flexsecure('accounts', 'list')).toMatchObject({
      code: 1,
      error: expect.stringContaining('flexsecure migrate'),
    })
  })

  it('creates accounts (with a first admin key) and lists them, as JSON', async () => {
    expect((await flexsecure('migrate')).code).toBe(0)
    const created = await flexsecure('accounts', 'create', '--name', 'Acme')
    expect(created).toMatchObject({
      code: 0,
      value: { name: 'Acme', adminKey: expect.stringMatching(/^fsk_/) },
    })
    account = (created.value as { id: string }).id
    const listed = await flexsecure('accounts', 'list')
    expect((listed.value as { id: string }[]).map((a) => a.id)).toEqual([account])
  })

  it('sets up a system, a user and an assignment, and shows them', async () => {
    expect(
      await flexsecure('systems', 'create', 'payroll', '--policies', '{"pin":{"enabled":true}}'),
    ).toMatchObject({ code: 0 })
    expect(await flexsecure('users', 'create', 'alice', '--email', 'alice@example.com')).toMatchObject({
      code: 0,
    })
    expect(await flexsecure('assign', 'alice', 'payroll:pin:email')).toMatchObject({
      code: 0,
      value: [{ system: 'payroll', method: 'pin', channel: 'email' }],
    })
    const shown = await flexsecure('users', 'show', 'alice')
    expect(shown.value).toMatchObject({
      authid: 'alice',
      email: 'alice@example.com',
      assignments: [{ system: 'payroll' }],
    })
    expect((await flexsecure('systems', 'list')).value).toMatchObject([{ name: 'payroll' }])
  })

  it('changes settings, and refuses a mistyped one with exit 1, naming the valid ones', async () => {
    expect(await flexsecure('settings', 'set', '{"sendLimits":{"perUserPerHour":3}}')).toMatchObject({
      code: 0,
      value: { sendLimits: { perUserPerHour: 3 } },
    })
    const typo = await flexsecure('settings', 'set', '{"sendLimits":{"perUserPerHr":1}}')
    expect(typo.code).toBe(1)
    expect(typo.error).toContain(
      'settings.sendLimits.perUserPerHr: is not a setting; the settings are perUserPerHour',
    )
  })

  it('holds settings within FLEXSECURE_CEILINGS, naming the ceiling (S18)', async () => {
    process.env.FLEXSECURE_CEILINGS = '{"sendLimits":{"perUserPerHour":20},"lockout":{"freeFailures":5}}'
    try {
      const loose = await flexsecure('settings', 'set', '{"sendLimits":{"perUserPerHour":10000000}}')
      expect(loose.code).toBe(1)
      expect(loose.error).toContain(
        "settings.sendLimits.perUserPerHour: must be at most 20: the operator's ceiling (ceilings.sendLimits.perUserPerHour)",
      )
      expect((await flexsecure('settings', 'set', '{"lockout":{"freeFailures":99}}')).code).toBe(1)
      process.env.FLEXSECURE_CEILINGS = '{"sendLimits":{"perUserPerDay":3}}'
      expect((await flexsecure('settings', 'show')).error).toContain(
        'FLEXSECURE_CEILINGS: ceilings.sendLimits.perUserPerDay: is not a setting',
      )
    } finally {
      delete process.env.FLEXSECURE_CEILINGS
    }
  })

  it('takes ids that begin with "-": as an option value, and after --', async () => {
    expect(await flexsecure('keys', 'revoke', '--id', '-x1')).toMatchObject({
      code: 1,
      value: { id: '-x1', revoked: false },
    })
    expect(await flexsecure('users', 'show', '--', '-x1')).toMatchObject({
      code: 1,
      error: 'flexsecure: no user -x1',
    })
    const unknown = await flexsecure('users', 'show', '-x1')
    expect(unknown.code).toBe(2)
    expect(unknown.error).toContain('a value that begins with "-" goes after "--"')
  })

  it('lists and verifies the audit trail', async () => {
    const listed = await flexsecure('audit', 'list', '--limit', '3')
    expect(listed.code).toBe(0)
    expect((listed.value as { events: unknown[] }).events).toHaveLength(3)
    expect(await flexsecure('audit', 'verify')).toMatchObject({ code: 0, value: [{ account, ok: true }] })
  })

  it('takes the global options before the command too', async () => {
    const listed = await flexsecure('--account', account, 'audit', 'list', '--limit', '1')
    expect(listed.code).toBe(0)
    expect((listed.value as { events: unknown[] }).events).toHaveLength(1)
  })

  it('answers 2 for bad usage and 1 for what is not there', async () => {
    expect((await flexsecure('systems', 'frobnicate')).code).toBe(2)
    expect((await flexsecure('users', 'create')).code).toBe(2)
    expect((await flexsecure('systems', 'show', 'nothing')).code).toBe(1)
    expect((await flexsecure('accounts', 'show', 'nothing')).code).toBe(1)
  })
})

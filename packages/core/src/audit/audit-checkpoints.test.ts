import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuditHead } from '../ports/rows.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'
import { memoryCheckpoints } from './audit-checkpoints.js'

// SECURITY.md S34: a replayed audit head hides a deleted tail unless the head also lives outside the
// database. The attack, as the review ran it: save the head row, create a backdoor admin key, delete the
// events after the saved sequence, write the head back.

const login = { system: 'payroll', authid: 'alice' }
const DAY = 86_400_000
let f: EngineFixture
let checkpoints: ReturnType<typeof memoryCheckpoints>

beforeEach(async () => {
  checkpoints = memoryCheckpoints()
  f = await engineFixture({ checkpoints, ceilings: { auditRetentionDays: 30 } })
  await f.acme.users.assign('alice', [{ system: 'payroll', method: 'pin' }])
  await f.acme.start(login)
  await f.acme.check({ ...login, pin: f.notifier.last().pin as string })
})
afterEach(async () => {
  await f.close()
})

const headRow = () => f.rows('auditHeads').find((head) => head.accountId === f.acme.id) as AuditHead
const writeHeadBack = (saved: AuditHead) =>
  f.tamper('auditHeads', (head) =>
    head.accountId === f.acme.id ? { ...saved, accountId: head.accountId } : head,
  )

describe('audit checkpoints (S34)', () => {
  it('reports the tail a replayed head hides: save the head, create a backdoor key, delete after it, write the head back', async () => {
    const saved = headRow()
    await f.acme.apiKeys.create({ name: 'backdoor', scopes: ['admin'] })
    f.tamper('auditEvents', (event) =>
      event.accountId === f.acme.id && event.seq > saved.seq ? null : event,
    )
    writeHeadBack(saved)
    expect(await f.acme.audit.verify()).toEqual({
      ok: false,
      firstBadSeq: Number(saved.seq) + 1,
      problem: expect.stringContaining(`the trail ends at #${saved.seq} but the checkpoint of`),
    })
  })

  it('writes a checkpoint after every admin change, and for logins when the periodic call comes', async () => {
    const before = checkpoints.written.length
    await f.acme.systems.create({ name: 'wiki', policies: { pin: { enabled: true } } })
    expect(checkpoints.written.length).toBe(before + 1)
    expect(checkpoints.written.at(-1)).toMatchObject({ accountId: f.acme.id, seq: Number(headRow().seq) })
    await f.acme.start(login)
    expect(await f.engine.writeCheckpoints()).toBe(1)
    expect(await f.engine.writeCheckpoints()).toBe(0)
    // A login's events deleted after that checkpoint, head rewound by a saved copy from before the login.
    expect(checkpoints.written.at(-1)?.seq).toBe(Number(headRow().seq))
  })

  it('verifies an untouched trail, and one purged since its checkpoint', async () => {
    await f.engine.writeCheckpoints()
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
    f.clock.advance(40 * DAY)
    await f.acme.audit.purge({ before: new Date(f.clock.now() - 31 * DAY) })
    expect(await f.acme.audit.verify()).toMatchObject({ ok: true })
  })

  it('reports a checkpoint whose signature does not verify (moved forward, or its MAC changed)', async () => {
    await f.engine.writeCheckpoints()
    const latest = checkpoints.written.at(-1)
    if (!latest) throw new Error('no checkpoint')
    checkpoints.written.push({ ...latest, seq: latest.seq + 5 })
    expect(await f.acme.audit.verify()).toMatchObject({
      ok: false,
      problem: expect.stringContaining('does not carry a valid signature'),
    })
    checkpoints.written.splice(0, checkpoints.written.length, { ...latest, mac: 'f'.repeat(64) })
    expect(await f.acme.audit.verify()).toMatchObject({
      ok: false,
      problem: expect.stringContaining('does not carry'),
    })
  })

  it('refuses a purge inside the operator’s minimum retention', async () => {
    await expect(f.acme.audit.purge({ before: new Date(f.clock.now() - DAY) })).rejects.toMatchObject({
      field: 'before',
      message: expect.stringContaining("at least 30 days ago: the operator's minimum audit retention"),
    })
  })
})

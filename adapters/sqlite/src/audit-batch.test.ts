// The audit chain under group commit (ARCHITECTURE §7): the transactions of one batch append to an
// account's chain through the head the batch keeps, so the head row is locked once and written once per
// batch, not per transaction; and a read of the head inside a batch sees what the batch's earlier
// transactions appended. Head writes are counted by a temporary trigger on the storage's own connection.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auditSealer, DEFAULT_SETTINGS, verifyAuditChain } from '@flexsecure/core'
import { auditDraft } from '@flexsecure/core/conformance'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { type SqliteStorage, sqliteStorage } from './sqlite-storage.js'

const SECRET = 'audit-batch-secret-audit-batch-secret'
const ACCOUNT = 'acc_audit_batch'
let dir: string
let db: BetterSqlite3.Database
let storage: SqliteStorage

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-audit-batch-'))
  db = new BetterSqlite3(join(dir, 'a.db'))
  storage = sqliteStorage({ database: db })
  storage.sealAuditWith(auditSealer(SECRET))
  await storage.migrate()
  await storage.accounts.insertAccount({
    id: ACCOUNT,
    name: 'Batch',
    settings: DEFAULT_SETTINGS,
    createdAt: 0,
  })
  db.exec(`CREATE TEMP TABLE head_writes (n INTEGER);
    CREATE TEMP TRIGGER count_head_writes AFTER UPDATE ON fs_audit_heads BEGIN INSERT INTO head_writes VALUES (1); END`)
})
afterEach(async () => {
  await storage.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const draft = (type: string) => auditDraft(ACCOUNT, type)
const headWrites = () => (db.prepare('SELECT count(*) AS n FROM temp.head_writes').get() as { n: number }).n

it('locks and writes an account’s head once per batch, however many of its transactions append', async () => {
  await Promise.all(Array.from({ length: 30 }, (_, i) => storage.audit.appendAudit([draft(`e${i}`)])))
  // One batch (all 30 arrived in one turn): the lock and the final write. Per transaction it was 60.
  expect(headWrites()).toBe(2)
  expect(await verifyAuditChain(storage, SECRET, ACCOUNT)).toEqual({ ok: true, events: 30, lastSeq: 30 })
})

it('reads the head that the batch’s earlier transactions moved', async () => {
  const [, head] = await Promise.all([
    Promise.all(Array.from({ length: 10 }, (_, i) => storage.audit.appendAudit([draft(`a${i}`)]))),
    storage.audit.getAuditHead(ACCOUNT),
    Promise.all(Array.from({ length: 10 }, (_, i) => storage.audit.appendAudit([draft(`b${i}`)]))),
  ])
  const events = await storage.audit.listAudit({ accountId: ACCOUNT, limit: 100 })
  expect(head).toMatchObject({ seq: 10, mac: events[9]?.mac })
  expect(await verifyAuditChain(storage, SECRET, ACCOUNT)).toEqual({ ok: true, events: 20, lastSeq: 20 })
})

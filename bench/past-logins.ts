// Databases with a history: FlexSecure's SQLite file after N past logins, for the scale bench. A
// template of real engine logins is written once; the N logins are copies of its rows, written
// directly in bulk (fresh ids, hashes and sequence numbers, times spread over the past), so every row
// has exactly the shape the engine writes without running N logins. Built once per schema into
// bench/.cache (gitignored) and reused.

import { createHash, randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { auditSealer } from '@flexsecure/core'
import { sqliteStorage } from '@flexsecure/sqlite'
import BetterSqlite3 from 'better-sqlite3'
import { BENCH_SECRET, flexSecureContender } from './flexsecure-contender.js'

/** Bumped when the generator writes different rows, so older cached files are not reused. */
const GENERATOR_VERSION = 2
/** Real engine logins in the template: one per user, every tenth a PIN login. */
const TEMPLATE_LOGINS = 1000
/** The past logins are spread over this many days before the build (S35's default retention). */
const SPAN_DAYS = 30
const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.cache')

/** Tables that gain rows with every login, and how the rows of a login are picked out of them. */
const LOGIN_ROWS: Record<string, { readonly where: string; readonly order: string }> = {
  fs_challenges: { where: 'true', order: 'created_at, id' },
  fs_deliveries: { where: 'true', order: 'created_at, id' },
  // The account's other events (systems, users, assignments) stay as they are.
  fs_audit_events: { where: 'challenge_id IS NOT NULL', order: 'seq' },
}
/** Tables that grow with the users, not the logins: send-limit counters, one row per limit and subject. */
const PER_SUBJECT = new Set(['fs_rate_limits'])
const TIME_COLUMNS = new Set([
  'at',
  'created_at',
  'updated_at',
  'expires_at',
  'completed_at',
  'next_attempt_at',
  'claimed_until',
])
const REFERENCE_COLUMNS = new Set(['challenge_id', 'delivery_id', 'fallback_of', 'previous_challenge_id'])

/** What the build records beside each cached file. */
export interface PastLoginsInfo {
  readonly logins: number
  readonly users: number
  readonly bytes: number
  readonly builtAt: string
  readonly seconds: number
  /** Bytes per table and index, from SQLite's dbstat. */
  readonly tables: Record<string, number>
}

type Row = Record<string, unknown>

// The 24-character ids the engine gives challenges and deliveries (`newTimeOrderedId` in core's
// secrets.ts): the time in milliseconds in 8 characters that sort as it, then 96 random bits.
const SORTED = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'
const newId = (at: number) => {
  let time = Math.floor(at)
  let prefix = ''
  for (let i = 0; i < 8; i++) {
    prefix = (SORTED[time % 64] as string) + prefix
    time = Math.floor(time / 64)
  }
  return prefix + randomBytes(12).toString('base64url')
}

/** A hash of the schema the engine migrates to today: a cached file is reused only for the same schema. */
async function schemaHash(): Promise<string> {
  const database = new BetterSqlite3(':memory:')
  const storage = sqliteStorage({ database })
  await storage.migrate()
  const schema = database.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all()
  await storage.close()
  database.close()
  return createHash('sha256')
    .update(JSON.stringify({ schema, GENERATOR_VERSION, TEMPLATE_LOGINS, SPAN_DAYS }))
    .digest('hex')
    .slice(0, 12)
}

/** The template: `users` users, then TEMPLATE_LOGINS real logins through the engine. */
async function buildTemplate(path: string, users: number): Promise<void> {
  const partial = `${path}.partial`
  rmSync(partial, { force: true })
  const contender = await flexSecureContender({
    name: 'template',
    filename: partial,
    synchronous: 'normal',
    users,
  })
  const counts = () =>
    new Map(
      (
        contender.database
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
          .pluck()
          .all() as string[]
      ).map((t) => [t, contender.database.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]),
    )
  const before = counts()
  for (let n = 0; n < TEMPLATE_LOGINS; n++) await contender.login(n % 10 === 9 ? 'pin' : 'link', n % users)
  // A table that grows with logins and that the generator does not copy would make its copies unlike
  // the engine's: stop, so whoever added the table teaches the generator about it.
  for (const [name, count] of counts())
    if (
      count - (before.get(name) ?? 0) >= TEMPLATE_LOGINS / 2 &&
      !(name in LOGIN_ROWS) &&
      !PER_SUBJECT.has(name)
    )
      throw new Error(`past-logins: ${name} grows with every login; add it to LOGIN_ROWS`)
  contender.database.pragma('wal_checkpoint(TRUNCATE)')
  await contender.close()
  renameSync(partial, path)
}

/** Prepared INSERTs for `table`'s columns, named as in `row`. */
function inserter(db: BetterSqlite3.Database, table: string, row: Row) {
  const columns = Object.keys(row)
  const statement = db.prepare(
    `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
  )
  return (values: Row) => statement.run(columns.map((c) => values[c]))
}

/**
 * Copies every login row of the template `copies` times, oldest copy first: fresh ids (references
 * follow them), fresh link hashes, sequence numbers after the account's last, times moved into the past.
 * Audit MACs are copied as they are, so the copied chain does not verify; the head is sealed again so
 * the engine appends after it.
 */
function writeCopies(db: BetterSqlite3.Database, copies: number): void {
  const template = Object.fromEntries(
    Object.entries(LOGIN_ROWS).map(([table, pick]) => [
      table,
      db.prepare(`SELECT * FROM "${table}" WHERE ${pick.where} ORDER BY ${pick.order}`).all() as Row[],
    ]),
  ) as Record<string, Row[]>
  const challenges = template.fs_challenges as Row[]
  const first = Math.min(...challenges.map((c) => c.created_at as number))
  const head = db.prepare('SELECT * FROM fs_audit_heads').get() as Row
  const accountId = head.account_id as string
  const setupSeq = db
    .prepare('SELECT max(seq) FROM fs_audit_events WHERE account_id = ? AND challenge_id IS NULL')
    .pluck()
    .get(accountId) as number
  for (const [table, pick] of Object.entries(LOGIN_ROWS))
    db.prepare(`DELETE FROM "${table}" WHERE ${pick.where}`).run()

  const insert = Object.fromEntries(
    Object.entries(template).map(([table, rows]) => [table, inserter(db, table, rows[0] as Row)]),
  )
  const now = Date.now()
  const span = SPAN_DAYS * 86_400_000
  let seq = setupSeq
  let lastMac = head.mac as string
  let newest = new Map<string, string>()
  const copy = db.transaction((k: number) => {
    const offset = now - span + Math.floor((k * span) / copies) - first
    const ids = new Map<string, string>()
    for (const table of ['fs_challenges', 'fs_deliveries'])
      for (const row of template[table] as Row[])
        ids.set(row.id as string, newId((row.created_at as number) + offset))
    const mapped = (value: unknown) => {
      if (value === null || value === undefined) return value
      const id = ids.get(value as string)
      if (id === undefined)
        throw new Error(`past-logins: a reference to ${String(value)} outside the template`)
      return id
    }
    for (const [table, rows] of Object.entries(template))
      for (const row of rows) {
        const out: Row = {}
        for (const [column, value] of Object.entries(row)) {
          if (column === 'id') out[column] = ids.get(value as string)
          else if (REFERENCE_COLUMNS.has(column)) out[column] = mapped(value)
          else if (TIME_COLUMNS.has(column)) out[column] = value === null ? null : (value as number) + offset
          else if (column === 'link_hash')
            out[column] = value === null ? null : randomBytes(32).toString('hex')
          else if (column === 'seq') out[column] = ++seq
          else if (column === 'details' && typeof value === 'string')
            // Ids the copy renamed, and times (`expiresAt`) moved like the columns.
            out[column] = value
              .replace(/[A-Za-z0-9_-]{24}/g, (id) => ids.get(id) ?? id)
              .replace(/("\w+At":)(\d+)/g, (_, key: string, at: string) => `${key}${Number(at) + offset}`)
          else out[column] = value
        }
        if (table === 'fs_audit_events') lastMac = out.mac as string
        ;(insert[table] as (values: Row) => void)(out)
      }
    newest = ids
  })
  for (let k = 0; k < copies; k++) {
    copy(k)
    if (k % 50 === 49)
      process.stderr.write(`  past logins: ${(k + 1) * TEMPLATE_LOGINS} of ${copies * TEMPLATE_LOGINS}\n`)
  }
  // Each user's assignment points at its newest challenge, as after the template's own logins.
  const point = db.prepare(
    'UPDATE fs_assignments SET challenge_id = ?, previous_challenge_id = ? WHERE user_id = ? AND system_id = ?',
  )
  const pick = (id: unknown) => (id === null ? null : (newest.get(id as string) ?? null))
  for (const row of db.prepare('SELECT * FROM fs_assignments').all() as Row[])
    point.run(pick(row.challenge_id), pick(row.previous_challenge_id), row.user_id, row.system_id)
  const anchor = {
    anchorSeq: Number(head.anchor_seq ?? 0),
    anchorMac: (head.anchor_mac as string | null) ?? null,
  }
  const headMac = auditSealer(BENCH_SECRET).head({ accountId, seq, mac: lastMac, ...anchor })
  db.prepare('UPDATE fs_audit_heads SET seq = ?, mac = ?, head_mac = ? WHERE account_id = ?').run(
    seq,
    lastMac,
    headMac,
    accountId,
  )
}

/** Bytes of each table and index (dbstat reads every page: on a large file, seconds). */
function bytesByTable(db: BetterSqlite3.Database): Record<string, number> {
  const rows = db
    .prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC')
    .all() as {
    name: string
    bytes: number
  }[]
  return Object.fromEntries(rows.map((r) => [r.name, r.bytes]))
}

/**
 * The cached file with `logins` past logins (a multiple of 1,000) of `users` users, built if missing,
 * and what its build recorded. Never open it for writing: copy it.
 */
export async function pastLoginsDatabase(
  logins: number,
  users: number,
): Promise<{ path: string; info: PastLoginsInfo }> {
  if (logins % TEMPLATE_LOGINS !== 0)
    throw new Error(`past logins: ${logins} is not a multiple of ${TEMPLATE_LOGINS}`)
  mkdirSync(CACHE_DIR, { recursive: true })
  const key = await schemaHash()
  const path = join(CACHE_DIR, `past-logins-${logins}-${users}u-${key}.db`)
  const infoPath = `${path}.json`
  if (existsSync(path) && existsSync(infoPath))
    return { path, info: JSON.parse(readFileSync(infoPath, 'utf8')) as PastLoginsInfo }

  const t0 = performance.now()
  const template = join(CACHE_DIR, `template-${users}u-${key}.db`)
  if (!existsSync(template)) {
    process.stderr.write(`building ${template}: ${TEMPLATE_LOGINS} real logins...\n`)
    await buildTemplate(template, users)
  }
  process.stderr.write(`building ${path}: ${logins} past logins...\n`)
  const partial = `${path}.partial`
  copyFileSync(template, partial)
  const db = new BetterSqlite3(partial)
  try {
    // The bulk write needs no durability (a failed build is thrown away) and a cache to hold the indexes.
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -1000000')
    db.pragma('foreign_keys = OFF')
    writeCopies(db, logins / TEMPLATE_LOGINS)
    const broken = db.prepare('PRAGMA foreign_key_check').all()
    if (broken.length > 0) throw new Error(`past logins: ${broken.length} rows reference nothing`)
    db.pragma('wal_checkpoint(TRUNCATE)')
    const info: PastLoginsInfo = {
      logins,
      users,
      bytes:
        (db.pragma('page_count', { simple: true }) as number) *
        (db.pragma('page_size', { simple: true }) as number),
      builtAt: new Date().toISOString(),
      seconds: Math.round((performance.now() - t0) / 1000),
      tables: bytesByTable(db),
    }
    db.close()
    renameSync(partial, path)
    writeFileSync(infoPath, `${JSON.stringify(info, null, 2)}\n`)
    return { path, info }
  } finally {
    if (db.open) db.close()
    rmSync(partial, { force: true })
  }
}

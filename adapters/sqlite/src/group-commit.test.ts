// Group commit on a real SQLite file (issue 16 item 1): concurrent transactions share one commit, each in a
// savepoint; a failure stays with its caller; a batch the database lost runs again; a failed COMMIT fails
// every caller of its batch. Commits are counted from the WAL file, not from the executor's own figures.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BatchScope, SqlExecutor } from '@flexsecure/kysely'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sqliteExecutor } from './sqlite-executor.js'

let dir: string
let db: BetterSqlite3.Database
let other: BetterSqlite3.Database
let exec: ReturnType<typeof sqliteExecutor>

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-group-'))
  db = new BetterSqlite3(join(dir, 'g.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('wal_autocheckpoint = 0')
  db.pragma('foreign_keys = ON')
  db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE,
      parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`)
  db.pragma('wal_checkpoint(TRUNCATE)')
  other = new BetterSqlite3(join(dir, 'g.db'), { readonly: true })
  exec = sqliteExecutor(db)
})
afterEach(() => {
  other.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Commit frames in the WAL: each commit appends its pages, the last one marked as a commit. */
const walPages = () => statSync(join(dir, 'g.db-wal'), { throwIfNoEntry: false })?.size ?? 0
const visible = () => (other.prepare('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((r) => r.v)

const insert = (v: string) =>
  exec.transaction(async (tx) => {
    await tx.run('INSERT INTO t (v) VALUES (?)', [v])
    const [row] = await tx.all<{ n: number }>('SELECT count(*) AS n FROM t', [])
    return row?.n
  })

describe('group commit', () => {
  it('commits 64 concurrent transactions at once, each seeing those before it, each answered after the commit', async () => {
    const one = await insert('first')
    const pageAndHeader = walPages() / 2 // one page of t (and of its unique index) per commit, at least
    const seenAtAnswer: number[] = []
    const answers = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        insert(`v${i}`).then((n) => {
          seenAtAnswer.push(visible().length)
          return n
        }),
      ),
    )
    expect(one).toBe(1)
    expect(answers).toEqual(Array.from({ length: 64 }, (_, i) => i + 2))
    // Each caller is answered only once its row is committed: another connection sees all 65.
    expect(seenAtAnswer.every((n) => n === 65)).toBe(true)
    // One commit for the 64, not 64 commits: the WAL grew by about what the first one wrote.
    expect(walPages() - 2 * pageAndHeader).toBeLessThan(3 * pageAndHeader)
  })

  it('rolls back only the transaction that failed; the others of its batch commit', async () => {
    const results = await Promise.allSettled([
      insert('a'),
      exec.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (?)', ['mine'])
        await tx.run('INSERT INTO t (v) VALUES (?)', ['a']) // unique: fails
      }),
      insert('b'),
      exec.run('INSERT INTO t (v) VALUES (?)', ['b']), // a single statement that fails
      insert('c'),
    ])
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    expect(visible()).toEqual(['a', 'b', 'c'])
  })

  it("rolls back a batch's first transaction when it fails, and commits those queued behind it", async () => {
    const results = await Promise.allSettled([
      exec.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (?)', ['mine'])
        throw new Error('changed its mind')
      }),
      insert('a'),
      exec.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (?)', ['theirs'])
        await tx.run('INSERT INTO t (v) VALUES (?)', ['a']) // unique: fails
      }),
      insert('b'),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled'])
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/changed its mind/)
    expect(visible()).toEqual(['a', 'b'])
    // Alone in its batch: nothing of it is left, and the executor goes on.
    await expect(
      exec.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (?)', ['alone'])
        await tx.run('INSERT INTO t (v) VALUES (?)', ['b'])
      }),
    ).rejects.toThrow(/UNIQUE/)
    await insert('c')
    expect(visible()).toEqual(['a', 'b', 'c'])
  })

  it('runs the others again when the database ends the whole transaction under one caller', async () => {
    const runs = { a: 0, b: 0 }
    const counted = (v: 'a' | 'b') =>
      exec.transaction(async (tx) => {
        runs[v] += 1
        await tx.run('INSERT INTO t (v) VALUES (?)', [v])
        return v
      })
    const results = await Promise.allSettled([
      counted('a'),
      exec.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (?)', ['lost'])
        // What SQLite does on its own after SQLITE_FULL or SQLITE_IOERR: the transaction is gone.
        await tx.run('ROLLBACK', [])
        throw new Error('disk full')
      }),
      counted('b'),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(visible()).toEqual(['a', 'b'])
    expect(runs).toEqual({ a: 2, b: 1 })
  })

  it('fails every caller of a batch whose COMMIT fails, and writes none of it', async () => {
    const results = await Promise.allSettled([
      insert('a'),
      // A deferred foreign key: the statement passes, the COMMIT of the whole batch is refused.
      exec.transaction((tx) => tx.run('INSERT INTO t (v, parent) VALUES (?, ?)', ['orphan', 42])),
      insert('b'),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/)
    expect(visible()).toEqual([])
    expect(db.inTransaction).toBe(false)
    // The connection works on.
    expect(await insert('after')).toBe(1)
  })

  describe('the batch scope', () => {
    // What the audit chain keeps in it: a value every transaction of the batch moves on, written once.
    const written: number[] = []
    const writeTotal = async (tx: SqlExecutor, total: number) => {
      written.push(total)
      await tx.run('INSERT INTO t (v) VALUES (?)', [`total ${total}`])
    }
    const add = (n: number, fail = false) =>
      exec.transaction(async (tx) => {
        const batch = tx.batch as BatchScope
        batch.set('total', (batch.get<number>('total') ?? 0) + n, writeTotal)
        await tx.run('INSERT INTO t (v) VALUES (?)', [`add ${n}`])
        if (fail) throw new Error('refused')
        return batch.get<number>('total')
      })
    beforeEach(() => {
      written.length = 0
    })

    it('is shared by the transactions of a batch and written once, before its COMMIT', async () => {
      const answers = await Promise.all([add(1), add(2), add(3)])
      expect(answers).toEqual([1, 3, 6])
      expect(written).toEqual([6])
      expect(visible()).toEqual(['add 1', 'add 2', 'add 3', 'total 6'])
      // The next batch starts with an empty scope.
      expect(await add(10)).toBe(10)
      expect(written).toEqual([6, 10])
    })

    it('forgets what a transaction rolled back to its savepoint had kept', async () => {
      const results = await Promise.allSettled([add(1), add(2, true), add(4)])
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect((results[2] as PromiseFulfilledResult<number>).value).toBe(5)
      expect(written).toEqual([5])
      expect(visible()).toEqual(['add 1', 'add 4', 'total 5'])
    })

    it('writes a value early for a transaction that settles it, and keeps it unwritten if that one rolls back', async () => {
      const settleThen = (fail: boolean) =>
        exec.transaction(async (tx) => {
          await tx.batch?.settle('total')
          if (fail) throw new Error('refused')
        })
      await Promise.allSettled([add(1), settleThen(true), add(2), settleThen(false), add(4)])
      // The rolled-back settle's write was undone with its savepoint; the value stayed kept, and the
      // second settle wrote 3; the last add started the scope again from nothing.
      expect(written).toEqual([1, 3, 4])
      expect(visible()).toEqual(['add 1', 'add 2', 'total 3', 'add 4', 'total 4'])
    })

    it('fails every caller of a batch whose scope cannot be written, and writes none of it', async () => {
      const failing = () =>
        exec.transaction(async (tx) => {
          tx.batch?.set('broken', 1, async () => {
            throw new Error('no head')
          })
          await tx.run('INSERT INTO t (v) VALUES (?)', ['broken'])
        })
      const results = await Promise.allSettled([add(1), failing(), add(2)])
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
      expect(visible()).toEqual([])
      expect(db.inTransaction).toBe(false)
      expect(await add(5)).toBe(5)
    })
  })
})

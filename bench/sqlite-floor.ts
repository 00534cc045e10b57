// The floor: the least any login can do on a SQLite file, on raw better-sqlite3. Four prepared statements,
// each its own autocommit transaction: insert a challenge with the SHA-256 hash of a random token, select
// it by that hash, update it to `confirmed` where it is still `pending`, insert an audit row.

import { createHash, randomBytes } from 'node:crypto'
import { applyPragmas } from '@flexsecure/sqlite'
import type BetterSqlite3 from 'better-sqlite3'
import type { Synchronous } from './bench-settings.js'
import type { Contender } from './login-harness.js'

const LIFETIME_MS = 15 * 60 * 1000

/** A floor on its own file: `login()` runs one minimal login, synchronously. */
export interface Floor {
  readonly db: BetterSqlite3.Database
  login(): void
}

/** A floor on `db` (a new file), with FlexSecure's pragmas (`applyPragmas`), then `synchronous` as asked. */
export function openFloor(db: BetterSqlite3.Database, synchronous: Synchronous = 'normal'): Floor {
  applyPragmas(db, 5000, 'normal')
  db.pragma(`synchronous = ${synchronous}`)
  db.exec(`
    CREATE TABLE challenges (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      status TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      completed_at INTEGER
    );
    CREATE TABLE audit (
      seq INTEGER PRIMARY KEY,
      challenge_id TEXT NOT NULL,
      type TEXT NOT NULL,
      at INTEGER NOT NULL
    );
  `)
  const insert = db.prepare(
    "INSERT INTO challenges (id, token_hash, status, created_at, expires_at) VALUES (?, ?, 'pending', ?, ?)",
  )
  const select = db.prepare('SELECT id, status, expires_at FROM challenges WHERE token_hash = ?')
  const confirm = db.prepare(
    "UPDATE challenges SET status = 'confirmed', completed_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?",
  )
  const audit = db.prepare('INSERT INTO audit (challenge_id, type, at) VALUES (?, ?, ?)')

  return {
    login() {
      // Same sizes as the engine's: a 24-character id and a 32-character (192-bit) link token.
      const id = randomBytes(18).toString('base64url')
      const token = randomBytes(24).toString('base64url')
      const now = Date.now()
      insert.run(id, createHash('sha256').update(token).digest('hex'), now, now + LIFETIME_MS)
      // The link comes back: hash the token again and find its challenge.
      const row = select.get(createHash('sha256').update(token).digest('hex')) as
        | { id: string; status: string; expires_at: number }
        | undefined
      if (row?.status !== 'pending') throw new Error('floor: challenge not found')
      if (confirm.run(now, row.id, now).changes !== 1) throw new Error('floor: challenge not confirmed')
      audit.run(row.id, 'login', now)
    },
    db,
  }
}

/** The floor as a contender: link logins only (its four statements are no more a PIN login than a link one). */
export function floorContender(
  name: string,
  db: BetterSqlite3.Database,
  synchronous: Synchronous,
): Contender {
  const floor = openFloor(db, synchronous)
  return {
    name,
    flows: ['link'],
    // Synchronous: a second login in flight would only wait for the first.
    maxInFlight: 1,
    database: floor.db,
    login: async (_flow, _user, step) => {
      if (step) await step('login', async () => floor.login())
      else floor.login()
    },
    async close() {
      if (floor.db.open) floor.db.close()
    },
  }
}

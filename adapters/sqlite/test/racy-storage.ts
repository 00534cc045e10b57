// A deliberately broken storage for the meta-test: it reads, yields, then writes unconditionally in
// a second statement, the classic check-then-act race. The conformance races must catch it.
import type { Storage } from '@flexsecure/core'
import BetterSqlite3 from 'better-sqlite3'
import { applyPragmas, sqliteStorage } from '../src/index.js'

// The window between the read and the write. It must be wide enough that concurrent callers land in
// it together: argon2 verifications finish milliseconds apart, and a mere setImmediate let them
// through one at a time now and then, hiding the very race this storage exists to show.
const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 25))

export function openStorage(options: { filename: string }): Storage {
  const real = sqliteStorage({ filename: options.filename })
  const db = new BetterSqlite3(options.filename)
  applyPragmas(db, 5000, 'normal')
  return {
    ...real,
    logins: {
      ...real.logins,
      // Without it the engine takes the attempt with reserveAttempt below, racy like the rest.
      settlePinAttempt: undefined,
      async confirmLink(linkHash, at, audit) {
        const row = await real.logins.getChallengeByLinkHash(linkHash)
        if (row?.status !== 'pending' || at >= row.expiresAt) return null
        await yieldToOthers()
        db.prepare(`UPDATE fs_challenges SET status = 'confirmed' WHERE id = ?`).run(row.id)
        await real.audit.appendAudit([audit(row)])
        return { ...row, status: 'confirmed' }
      },
      async reserveAttempt(id, at) {
        const row = await real.logins.getChallenge(id)
        if (row?.status !== 'pending' || at >= row.expiresAt || row.attempts >= row.maxAttempts) return null
        await yieldToOthers()
        db.prepare('UPDATE fs_challenges SET attempts = ? WHERE id = ?').run(row.attempts + 1, id)
        return row.attempts + 1
      },
      async transitionChallenge(move, audit) {
        const row = await real.logins.getChallenge(move.id)
        if (!row || !(move.from as readonly string[]).includes(row.status) || row.outcomeReported)
          return false
        await yieldToOthers()
        db.prepare('UPDATE fs_challenges SET status = ?, outcome_reported = ? WHERE id = ?').run(
          move.to,
          move.reported ? 1 : 0,
          move.id,
        )
        await real.audit.appendAudit(audit)
        return true
      },
    },
    async close() {
      db.close()
      await real.close()
    },
  }
}

import type { CompletionCodeRow, CompletionCodeStore } from '@flexsecure/core'
import type { Kysely } from 'kysely'
import type { CompletionDatabase } from './completion-schema.js'
import { type ConsoleStoreDeps, changedBy, rowsOf } from './console-session-queries.js'

// Same-device completion codes in SQL (CompletionCodeStore). Off the login's hot path (a code is
// issued once per confirmed link that asked for one), so statements are compiled when they run. Each
// move is one conditional statement that every dialect has (no RETURNING: MySQL lacks it), then a read
// of the row it moved inside the same transaction.

const COLUMNS = [
  'code_hash',
  'account_id',
  'challenge_id',
  'system_name',
  'authid',
  'created_at',
  'expires_at',
  'redeemed_at',
] as const

type Raw = Record<string, unknown>

function toCode(r: Raw): CompletionCodeRow {
  return {
    codeHash: String(r.code_hash),
    accountId: String(r.account_id),
    challengeId: String(r.challenge_id),
    systemName: String(r.system_name),
    authid: String(r.authid),
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    redeemedAt: r.redeemed_at === null || r.redeemed_at === undefined ? null : Number(r.redeemed_at),
  }
}

/** CompletionCodeStore over the shared storage's executor. */
export function completionCodeQueries(deps: ConsoleStoreDeps): CompletionCodeStore {
  const db = deps.db as unknown as Kysely<CompletionDatabase>
  const { exec, guard, appendAudit } = deps
  const find = (tx: typeof exec, codeHash: string) =>
    rowsOf(tx, db.selectFrom('fs_completion_codes').select(COLUMNS).where('code_hash', '=', codeHash))

  return {
    issue: (row, audit) =>
      guard('completionCodes.issue', () =>
        exec.transaction(async (tx) => {
          // Inserted only while its challenge is confirmed: a superseded or ended login gets no code.
          const inserted = await changedBy(
            tx,
            db
              .insertInto('fs_completion_codes')
              .columns([...COLUMNS])
              .expression(
                db
                  .selectFrom('fs_challenges')
                  .select((eb) => [
                    eb.val(row.codeHash).as('code_hash'),
                    eb.val(row.accountId).as('account_id'),
                    eb.val(row.challengeId).as('challenge_id'),
                    eb.val(row.systemName).as('system_name'),
                    eb.val(row.authid).as('authid'),
                    eb.val(row.createdAt).as('created_at'),
                    eb.val(row.expiresAt).as('expires_at'),
                    eb.val(null).as('redeemed_at'),
                  ])
                  .where('id', '=', row.challengeId)
                  .where('account_id', '=', row.accountId)
                  .where('status', '=', 'confirmed'),
              ),
          )
          if (inserted !== 1) return false
          await appendAudit(tx, audit)
          return true
        }),
      ),

    redeem: (codeHash, accountId, at, audit) =>
      guard('completionCodes.redeem', () =>
        exec.transaction(async (tx) => {
          let update = db
            .updateTable('fs_completion_codes')
            .set({ redeemed_at: at })
            .where('code_hash', '=', codeHash)
            .where('redeemed_at', 'is', null)
            .where('expires_at', '>', at)
            .where((eb) =>
              eb.exists(
                eb
                  .selectFrom('fs_challenges')
                  .select('fs_challenges.id')
                  .whereRef('fs_challenges.id', '=', 'fs_completion_codes.challenge_id')
                  .where('fs_challenges.status', 'in', ['confirmed', 'authenticated']),
              ),
            )
          if (accountId !== null) update = update.where('account_id', '=', accountId)
          if ((await changedBy(tx, update)) !== 1) return null
          const [raw] = await find(tx, codeHash)
          if (!raw) return null
          const row = toCode(raw)
          // The login is authenticated now, not merely confirmed: the sweep never expires it, and the
          // user's history counts it. Unreported, so the original device's check still hears it once.
          await changedBy(
            tx,
            db
              .updateTable('fs_challenges')
              .set({ status: 'authenticated', completed_at: at, outcome_reported: 0 })
              .where('id', '=', row.challengeId)
              .where('status', '=', 'confirmed'),
          )
          await appendAudit(tx, audit(row))
          return row
        }),
      ),

    find: (codeHash) =>
      guard('completionCodes.find', async () => {
        const [raw] = await find(exec, codeHash)
        return raw ? toCode(raw) : null
      }),

    sweep: (before) =>
      guard('completionCodes.sweep', () =>
        changedBy(exec, db.deleteFrom('fs_completion_codes').where('expires_at', '<=', before)),
      ),
  }
}

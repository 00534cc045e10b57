import type { CompletionCodeStore } from '../ports/completion-store.js'
import { appendAudit } from './memory-audit.js'
import { out } from './memory-rows.js'
import { type MemoryStoreDeps, references, unique } from './memory-tables.js'

// The in-memory storage's optional same-device completion codes, with the semantics of
// adapters/kysely/src/completion-code-queries.ts: a code is stored only while its login is confirmed,
// and redeemed once by one conditional write that also authenticates the login.

/** Same-device completion codes in memory. */
export function memoryCompletionCodes({ tables, slot, run }: MemoryStoreDeps): CompletionCodeStore {
  const codes = tables.completionCodes
  return {
    issue: (row, audit) =>
      run('completionCodes.issue', () => {
        const challenge = tables.challenges.get(row.challengeId)
        // Stored only while its challenge is confirmed: a superseded or ended login gets no code.
        if (!challenge || challenge.accountId !== row.accountId || challenge.status !== 'confirmed')
          return false
        unique(codes.has(row.codeHash), 'fs_completion_codes.code_hash')
        references(tables.accounts.has(row.accountId), 'fs_completion_codes.account_id')
        codes.set(row.codeHash, {
          codeHash: row.codeHash,
          accountId: row.accountId,
          challengeId: row.challengeId,
          systemName: row.systemName,
          authid: row.authid,
          createdAt: row.createdAt,
          expiresAt: row.expiresAt,
          redeemedAt: null,
        })
        appendAudit(tables, slot, audit)
        return true
      }),

    redeem: (codeHash, accountId, at, audit) =>
      run('completionCodes.redeem', () => {
        const row = codes.get(codeHash)
        const challenge = row && tables.challenges.get(row.challengeId)
        if (
          !row ||
          row.redeemedAt !== null ||
          row.expiresAt <= at ||
          (accountId !== null && row.accountId !== accountId) ||
          !challenge ||
          (challenge.status !== 'confirmed' && challenge.status !== 'authenticated')
        )
          return null
        const redeemed = { ...row, redeemedAt: at }
        codes.set(codeHash, redeemed)
        // The login is authenticated now, unreported, so the original device's check still hears it once.
        if (challenge.status === 'confirmed')
          tables.challenges.set(challenge.id, {
            ...challenge,
            status: 'authenticated',
            completedAt: at,
            outcomeReported: false,
          })
        appendAudit(tables, slot, audit(out(redeemed)))
        return out(redeemed)
      }),

    find: (codeHash) =>
      run('completionCodes.find', () => {
        const row = codes.get(codeHash)
        return row ? out(row) : null
      }),

    sweep: (before) =>
      run('completionCodes.sweep', () => {
        let swept = 0
        for (const row of codes.values()) if (row.expiresAt <= before && codes.delete(row.codeHash)) swept++
        return swept
      }),
  }
}

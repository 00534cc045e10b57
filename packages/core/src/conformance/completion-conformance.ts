import { describe, expect, it } from 'vitest'
import { newId, newLinkToken, sha256Hex } from '../domain/secrets.js'
import type { CompletionCodeRow, CompletionCodeStore } from '../ports/completion-store.js'
import type { AuditDraft, ChallengeRow, Storage } from '../ports/storage.js'

/** What the completion code cases need from the storage suite's setup, per test. */
export interface CompletionWorld {
  readonly storage: Storage
  readonly accountId: string
  /** Issues a passwordless challenge as the user's current one. */
  issued(fields?: Partial<ChallengeRow>): Promise<ChallengeRow>
  /** Issues another challenge for the same user (superseding the current one). */
  supersede(): Promise<void>
  /** An audit draft of `type` in the account. */
  draft(type: string, fields?: Partial<AuditDraft>): AuditDraft
  /** The start of time in these tests. */
  readonly t0: number
}

/** The CompletionCodeStore contract (same-device completion), run with the `logins` cases of `runStorageConformance`. */
export function completionCodeCases(world: () => CompletionWorld): void {
  describe('completion codes (an optional store: skipped when the storage has none)', () => {
    const store = (w: CompletionWorld): CompletionCodeStore => {
      const codes = w.storage.completionCodes
      if (!codes) throw new Error('unreachable: the cases skip a storage without completion codes')
      return codes
    }
    const codeRow = (
      w: CompletionWorld,
      challenge: ChallengeRow,
      fields: Partial<CompletionCodeRow> = {},
    ) => ({
      codeHash: sha256Hex(newLinkToken()),
      accountId: w.accountId,
      challengeId: challenge.id,
      systemName: challenge.systemName,
      authid: challenge.authid,
      createdAt: w.t0,
      expiresAt: w.t0 + 60_000,
      redeemedAt: null,
      ...fields,
    })
    /** A confirmed challenge and a code issued for it. */
    const issuedCode = async (w: CompletionWorld) => {
      const challenge = await w.issued()
      expect(
        await w.storage.logins.confirmLink(challenge.linkHash as string, w.t0, () =>
          w.draft('link.confirmed'),
        ),
      ).not.toBeNull()
      const row = codeRow(w, challenge)
      expect(await store(w).issue(row, [w.draft('completion.issued')])).toBe(true)
      return { challenge, row }
    }
    const types = async (w: CompletionWorld) =>
      (await w.storage.audit.listAudit({ accountId: w.accountId, limit: 1000 })).map((e) => e.type)

    it('issues a code only for a confirmed challenge, with its audit in the same write', async (context) => {
      const w = world()
      if (!w.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const pending = await w.issued()
      expect(await store(w).issue(codeRow(w, pending), [w.draft('completion.issued')])).toBe(false)
      expect(await types(w)).not.toContain('completion.issued')
      const { row } = await issuedCode(w)
      expect(await store(w).find(row.codeHash)).toEqual(row)
      expect((await types(w)).filter((t) => t === 'completion.issued')).toHaveLength(1)
    })

    it('issues no code once the confirmed challenge is superseded', async (context) => {
      const w = world()
      if (!w.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const challenge = await w.issued()
      await w.storage.logins.confirmLink(challenge.linkHash as string, w.t0, () => w.draft('link.confirmed'))
      await w.supersede()
      const row = codeRow(w, challenge)
      expect(await store(w).issue(row, [])).toBe(false)
      expect(await store(w).find(row.codeHash)).toBeNull()
    })

    it('redeems a code once, before its expiry, in its own account only', async (context) => {
      const w = world()
      if (!w.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const { row } = await issuedCode(w)
      const audit = () => [w.draft('completion.redeemed')]
      expect(await store(w).redeem(row.codeHash, newId(), w.t0 + 1, audit)).toBeNull()
      expect(await store(w).redeem(sha256Hex('no such code'), w.accountId, w.t0 + 1, audit)).toBeNull()
      expect(await store(w).redeem(row.codeHash, w.accountId, w.t0 + 1, audit)).toEqual({
        ...row,
        redeemedAt: w.t0 + 1,
      })
      // The login is authenticated, its outcome not yet reported to the original device's check.
      expect(await w.storage.logins.getChallenge(row.challengeId)).toMatchObject({
        status: 'authenticated',
        outcomeReported: false,
        completedAt: w.t0 + 1,
      })
      expect(await store(w).redeem(row.codeHash, w.accountId, w.t0 + 2, audit)).toBeNull()
      expect(await store(w).redeem(row.codeHash, null, w.t0 + 2, audit)).toBeNull()
      expect((await types(w)).filter((t) => t === 'completion.redeemed')).toHaveLength(1)

      const late = await issuedCode(w)
      expect(await store(w).redeem(late.row.codeHash, null, late.row.expiresAt, audit)).toBeNull()
      expect(await store(w).redeem(late.row.codeHash, null, late.row.expiresAt - 1, audit)).not.toBeNull()
    })

    it('refuses a code whose challenge was superseded after it was issued', async (context) => {
      const w = world()
      if (!w.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const { row } = await issuedCode(w)
      await w.supersede()
      expect(await store(w).redeem(row.codeHash, w.accountId, w.t0 + 1, () => [])).toBeNull()
    })

    it('lets exactly one of 20 concurrent redeems of one code win', async (context) => {
      const w = world()
      if (!w.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const { row } = await issuedCode(w)
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          store(w).redeem(row.codeHash, w.accountId, w.t0 + 1, () => [w.draft('completion.redeemed')]),
        ),
      )
      expect(results.filter((r) => r !== null)).toHaveLength(1)
      expect((await types(w)).filter((t) => t === 'completion.redeemed')).toHaveLength(1)
    })

    it('sweeps codes at or past their expiry', async (context) => {
      const w = world()
      if (!w.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const { row } = await issuedCode(w)
      expect(await store(w).sweep(row.expiresAt - 1)).toBe(0)
      expect(await store(w).sweep(row.expiresAt)).toBe(1)
      expect(await store(w).find(row.codeHash)).toBeNull()
    })
  })
}

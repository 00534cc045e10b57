import { describe, expect, it } from 'vitest'
import {
  raceCompletionRedeems,
  raceDeliveries,
  raceLinkConfirms,
  racePinChecks,
  raceStarts,
} from './login-races.js'
import { freshStorage, type StoreSuite } from './storage-fixture.js'

/**
 * The races only separate processes can run (S5): child processes, each with its own storage on the
 * shared database, drive whole logins at once through an engine, so every store takes part.
 */
export function raceCases(suite: StoreSuite): void {
  const { options } = suite
  const reason =
    options.noSharedDatabase ??
    (suite.all ? null : 'they drive whole logins through every store, and options.stores names only some')
  const races = reason
    ? (body: () => void) => describe.skip(`races across processes: not run, ${reason}`, body)
    : (body: () => void) => describe('races across processes', body)
  races(() => {
    const f = freshStorage(options, 'user')
    const shared = () => {
      if (!f.under.shared)
        throw new Error(`${options.name}: open() returned no 'shared' database for the races`)
      return f.under.shared
    }

    it('lets exactly one of 50 concurrent confirms of one link succeed', async () => {
      const { results, final, audit } = await raceLinkConfirms({ storage: f.storage, shared: shared() })
      expect(audit).toMatchObject({ ok: true })
      expect(results).toHaveLength(50)
      expect(results.filter((r) => r === 'confirmed')).toHaveLength(1)
      expect(results.filter((r) => r !== 'confirmed' && r !== 'used')).toEqual([])
      expect(final?.status).toBe('confirmed')
    }, 60_000)

    it('lets exactly one of 50 concurrent correct PIN checks authenticate', async () => {
      const { results, final, audit } = await racePinChecks({
        storage: f.storage,
        shared: shared(),
        correct: true,
      })
      expect(audit).toMatchObject({ ok: true })
      expect(results).toHaveLength(50)
      expect(results.filter((r) => r === 'authenticated')).toHaveLength(1)
      expect(results.filter((r) => r.startsWith('threw'))).toEqual([])
      expect(final?.status).toBe('authenticated')
    }, 60_000)

    it('evaluates no more wrong PINs than the attempt limit out of 50 concurrent ones', async () => {
      const { results, final, verifications, audit, failureStreak } = await racePinChecks({
        storage: f.storage,
        shared: shared(),
        correct: false,
      })
      expect(results).toHaveLength(50)
      expect(results.filter((r) => r === 'authenticated' || r.startsWith('threw'))).toEqual([])
      expect(verifications).toBe(5)
      expect(audit).toMatchObject({ ok: true })
      expect(results.filter((r) => r === 'security error:wrong_pin')).toHaveLength(4)
      expect(final).toMatchObject({ status: 'failed', attempts: 5 })
      expect(failureStreak).toBe(5)
    }, 60_000)

    it('lets exactly one of 50 concurrent correct PIN checks authenticate, the PIN kept as an HMAC', async () => {
      const { results, final, audit } = await racePinChecks({
        storage: f.storage,
        shared: shared(),
        correct: true,
        pinHashing: 'hmac',
      })
      expect(audit).toMatchObject({ ok: true })
      expect(results).toHaveLength(50)
      expect(results.filter((r) => r === 'authenticated')).toHaveLength(1)
      expect(results.filter((r) => r.startsWith('threw'))).toEqual([])
      expect(final?.status).toBe('authenticated')
      // With settlePinAttempt each right PIN's attempt and move are one write, so the winner's is the only
      // attempt taken; without it (an optional method) each check reserves first, within the budget.
      if (f.storage.logins.settlePinAttempt) expect(final?.attempts).toBe(1)
      else expect(final?.attempts).toBeLessThanOrEqual(5)
    }, 60_000)

    it('answers no more wrong PINs than the attempt limit out of 50 concurrent ones, the PIN kept as an HMAC', async () => {
      const { results, final, audit, failureStreak } = await racePinChecks({
        storage: f.storage,
        shared: shared(),
        correct: false,
        pinHashing: 'hmac',
      })
      expect(results).toHaveLength(50)
      expect(results.filter((r) => r === 'authenticated' || r.startsWith('threw'))).toEqual([])
      expect(results.filter((r) => r === 'security error:wrong_pin')).toHaveLength(4)
      expect(audit).toMatchObject({ ok: true })
      expect(final).toMatchObject({ status: 'failed', attempts: 5 })
      expect(failureStreak).toBe(5)
    }, 60_000)

    it('leaves exactly one live challenge after 20 concurrent starts for one user', async () => {
      const { results, live, final, audit } = await raceStarts({
        storage: f.storage,
        shared: shared(),
        total: 20,
      })
      expect(audit).toMatchObject({ ok: true })
      expect(results.filter((r) => r.startsWith('success:'))).toHaveLength(20)
      expect(live).toBe(1)
      expect(final?.status).toBe('pending')
    }, 60_000)

    it('issues no more than the send limit to 20 concurrent starts for one user', async () => {
      // One challenge is issued by the setup, so 4 of the 20 fit under a limit of 5.
      const { results, live, audit } = await raceStarts({
        storage: f.storage,
        shared: shared(),
        total: 20,
        perUserPerHour: 5,
      })
      expect(results.filter((r) => r.startsWith('success:'))).toHaveLength(4)
      expect(results.filter((r) => r === 'rate limited')).toHaveLength(16)
      expect(audit).toMatchObject({ ok: true })
      expect(live).toBe(1)
    }, 60_000)

    it('lets exactly one of 50 concurrent redeems of one completion code win, across 4 processes (completion codes are optional: skipped without them)', async (context) => {
      if (!f.storage.completionCodes) return context.skip('the storage has no completionCodes')
      const { results, audit } = await raceCompletionRedeems({ storage: f.storage, shared: shared() })
      expect(audit).toMatchObject({ ok: true })
      expect(results).toHaveLength(50)
      expect(results.filter((r) => r === 'authenticated')).toHaveLength(1)
      expect(results.filter((r) => r !== 'authenticated' && r !== 'security error')).toEqual([])
    }, 60_000)

    it('sends each of 20 due deliveries exactly once when 4 processes run the outbox at once', async () => {
      const { results, statuses, audit } = await raceDeliveries({
        storage: f.storage,
        shared: shared(),
        total: 12,
      })
      const sent = results.filter((r) => r.startsWith('sent:'))
      expect(sent).toHaveLength(20)
      expect(new Set(sent).size).toBe(20)
      expect(results.filter((r) => r.startsWith('threw:'))).toEqual([])
      expect(statuses).toEqual(Array.from({ length: 20 }, () => 'sent'))
      expect(audit).toMatchObject({ ok: true })
    }, 60_000)
  })
}

import { expect, it } from 'vitest'
import { newId } from '../domain/secrets.js'
import { pollViewOf } from '../login/check-view.js'
import type { ChallengeRow, DeliveryOutcome, DeliveryRow } from '../ports/storage.js'
import { draft, freshStorage, inspectorOf, NEEDS_INSPECTOR, type StoreSuite, T0 } from './storage-fixture.js'

/**
 * The OutboxStore contract: claims, outcomes fenced on the attempt, fallbacks, cancellation; and the
 * optional secret store's payload re-sealing. Seeds the account, `payroll` and `alice`; deliveries
 * are issued with their challenge through `logins`, and read back through `storage.inspector`.
 */
export function outboxCases(suite: StoreSuite): void {
  suite.describeStore('outbox', () => {
    const f = freshStorage(suite.options, 'user')
    const LEASE = 60_000
    const delivery = (row: ChallengeRow, fields: Partial<DeliveryRow> = {}): DeliveryRow => ({
      id: newId(),
      accountId: f.accountId,
      challengeId: row.id,
      channel: 'email',
      destination: 'a***@example.com',
      status: 'queued',
      attempts: 1,
      nextAttemptAt: T0,
      claimedUntil: T0 + LEASE,
      providerId: null,
      lastError: null,
      payload: 'v1.sealed',
      createdAt: T0,
      updatedAt: T0,
      expiresAt: row.expiresAt,
      fallbackOf: null,
      ...fields,
    })
    /** A challenge issued with one delivery, claimed by its issuer as `start` does. */
    const withDelivery = async (fields: Partial<DeliveryRow> = {}) => {
      await f.assign()
      const draftRow = f.challenge()
      const sent = delivery(draftRow, fields)
      const row = { ...draftRow, deliveryId: sent.id }
      expect(await f.storage.logins.issueChallenge(row, [], [], [sent])).toEqual({ issued: true })
      expect((await f.storage.logins.getChallenge(row.id))?.delivery).toBe('queued')
      return { row, sent }
    }
    const outcome = (d: DeliveryRow, fields: Partial<DeliveryOutcome>): DeliveryOutcome => ({
      id: d.id,
      challengeId: d.challengeId,
      attempt: d.attempts,
      to: 'sent',
      at: T0 + 1,
      providerId: 'provider-1',
      lastError: null,
      ...fields,
    })

    it(`stores a delivery with its challenge; a live claim is not claimed again until it lapses ${NEEDS_INSPECTOR}`, async (context) => {
      const inspector = inspectorOf(f.storage, context)
      const { sent } = await withDelivery()
      expect(await inspector.listDeliveries(sent.challengeId)).toEqual([sent])
      expect(await f.storage.outbox.claimDeliveries(T0 + LEASE - 1, LEASE, 10)).toEqual([])
      const [claimed] = await f.storage.outbox.claimDeliveries(T0 + LEASE, LEASE, 10)
      expect(claimed).toMatchObject({
        id: sent.id,
        attempts: 2,
        claimedUntil: T0 + 2 * LEASE,
        payload: 'v1.sealed',
      })
    })

    it('tells a poll where its delivery stands, as resolveLogin does (skipped where the storage has no pollLogin)', async (context) => {
      const poll = f.storage.logins.pollLogin
      if (!poll) return context.skip('the storage has no pollLogin')
      const seen = async () => {
        const view = await poll(f.accountId, 'payroll', 'alice')
        expect(view).toEqual(pollViewOf(await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice')))
        return view?.challenge
      }
      const { row, sent } = await withDelivery()
      expect(await seen()).toMatchObject({ id: row.id, deliveryId: sent.id, delivery: 'queued' })
      expect(await f.storage.outbox.finishDelivery(outcome(sent, {}), [])).toBe(true)
      expect(await seen()).toMatchObject({ id: row.id, deliveryId: sent.id, delivery: 'sent' })
    })

    suite.itReading(
      ['audit'],
      `records a sent delivery once, wipes its payload and tells the challenge ${NEEDS_INSPECTOR}`,
      async (context) => {
        const inspector = inspectorOf(f.storage, context)
        const { row, sent } = await withDelivery()
        const audit = [draft(f.accountId, 'delivery', { outcome: 'sent', challengeId: row.id })]
        expect(await f.storage.outbox.finishDelivery(outcome(sent, { attempt: 2 }), audit)).toBe(false)
        expect(await f.storage.outbox.finishDelivery(outcome(sent, {}), audit)).toBe(true)
        expect(await f.storage.outbox.finishDelivery(outcome(sent, {}), audit)).toBe(false)
        const [stored] = await inspector.listDeliveries(row.id)
        expect(stored).toMatchObject({
          status: 'sent',
          payload: null,
          providerId: 'provider-1',
          claimedUntil: null,
        })
        expect((await f.storage.logins.getChallenge(row.id))?.delivery).toBe('sent')
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => e.outcome),
        ).toEqual(['sent'])
        expect(await f.storage.outbox.claimDeliveries(T0 + 10 * LEASE, LEASE, 10)).toEqual([])
      },
    )

    suite.itReading(
      ['audit'],
      `records many outcomes in one call, each fenced on its own claim (finishDeliveries is optional: skipped without it) ${NEEDS_INSPECTOR}`,
      async (context) => {
        const inspector = inspectorOf(f.storage, context)
        const finishDeliveries = f.storage.outbox.finishDeliveries?.bind(f.storage.outbox)
        if (!finishDeliveries) return context.skip('the outbox has no finishDeliveries')
        await f.assign()
        const draftRow = f.challenge()
        const [a, b, c] = [delivery(draftRow), delivery(draftRow), delivery(draftRow)] as [
          DeliveryRow,
          DeliveryRow,
          DeliveryRow,
        ]
        const row = { ...draftRow, deliveryId: c.id }
        expect(await f.storage.logins.issueChallenge(row, [], [], [a, b, c])).toEqual({ issued: true })
        const audit = (d: DeliveryRow, outcome: string) => [
          draft(f.accountId, 'delivery', { outcome, challengeId: row.id, details: { deliveryId: d.id } }),
        ]
        const answers = await finishDeliveries([
          { outcome: outcome(a, {}), audit: audit(a, 'sent') },
          // A stale claim: another dispatcher's attempt 2 owns this row now.
          { outcome: outcome(b, { attempt: 2 }), audit: audit(b, 'sent') },
          {
            outcome: outcome(c, {
              to: 'failed',
              nextAttemptAt: T0 + 5_000,
              providerId: null,
              lastError: '451',
            }),
            audit: audit(c, 'failed'),
          },
        ])
        expect(answers).toEqual([true, false, true])
        const stored = new Map((await inspector.listDeliveries(row.id)).map((d) => [d.id, d]))
        expect(stored.get(a.id)).toMatchObject({ status: 'sent', payload: null, claimedUntil: null })
        expect(stored.get(b.id)).toMatchObject({ status: 'queued', payload: 'v1.sealed' })
        expect(stored.get(c.id)).toMatchObject({
          status: 'failed',
          payload: 'v1.sealed',
          nextAttemptAt: T0 + 5_000,
        })
        expect((await f.storage.logins.getChallenge(row.id))?.delivery).toBe('failed')
        // Only the outcomes that were recorded are audited, in order.
        const events = await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })
        expect(events.map((e) => [e.outcome, e.details?.deliveryId])).toEqual([
          ['sent', a.id],
          ['failed', c.id],
        ])
      },
    )

    it('keeps a failed delivery for its retry, claimable only from its next attempt on', async () => {
      const { row, sent } = await withDelivery()
      const failed = outcome(sent, {
        to: 'failed',
        nextAttemptAt: T0 + 5_000,
        providerId: null,
        lastError: '451 try later',
      })
      expect(await f.storage.outbox.finishDelivery(failed, [])).toBe(true)
      expect((await f.storage.logins.getChallenge(row.id))?.delivery).toBe('failed')
      expect(await f.storage.outbox.claimDeliveries(T0 + 4_999, LEASE, 10)).toEqual([])
      const [again] = await f.storage.outbox.claimDeliveries(T0 + 5_000, LEASE, 10)
      expect(again).toMatchObject({
        status: 'failed',
        attempts: 2,
        payload: 'v1.sealed',
        lastError: '451 try later',
      })
    })

    it(`abandons a delivery and queues its fallback in one step ${NEEDS_INSPECTOR}`, async (context) => {
      const inspector = inspectorOf(f.storage, context)
      const { row, sent } = await withDelivery()
      const fallback = delivery(row, {
        channel: 'sms',
        destination: '+1******67',
        fallbackOf: sent.id,
        createdAt: T0 + 1,
      })
      const abandoned = outcome(sent, {
        to: 'abandoned',
        providerId: null,
        lastError: '550',
      })
      expect(await f.storage.outbox.finishDelivery(abandoned, [], fallback)).toBe(true)
      const rows = await inspector.listDeliveries(row.id)
      expect(rows.map((d) => [d.channel, d.status, d.payload])).toEqual([
        ['email', 'abandoned', null],
        ['sms', 'queued', 'v1.sealed'],
      ])
      expect((await f.storage.logins.getChallenge(row.id))?.delivery).toBe('queued')
      // The secret now travels by SMS: the challenge says so, for check to answer.
      expect((await f.storage.logins.getChallenge(row.id))?.channel).toBe('sms')
      expect((await f.storage.logins.resolveLogin(f.accountId, 'payroll', 'alice'))?.challenge?.channel).toBe(
        'sms',
      )
    })

    it(`writes no fallback, nor the abandon, for a challenge no longer pending (superseded meanwhile) ${NEEDS_INSPECTOR}`, async (context) => {
      const inspector = inspectorOf(f.storage, context)
      const { row, sent } = await withDelivery()
      // Another start for the same user supersedes the challenge while its delivery is being abandoned.
      const newer = f.challenge({ createdAt: T0 + 1 })
      expect(await f.storage.logins.issueChallenge(newer, [], [], [])).toEqual({ issued: true })
      const fallback = delivery(row, { channel: 'sms', destination: '+1******67', fallbackOf: sent.id })
      const abandoned = outcome(sent, { to: 'abandoned', providerId: null, lastError: '550' })
      expect(await f.storage.outbox.finishDelivery(abandoned, [], fallback)).toBe(false)
      expect((await inspector.listDeliveries(row.id)).map((d) => [d.channel, d.status])).toEqual([
        ['email', 'queued'],
      ])
      expect((await f.storage.logins.getChallenge(row.id))?.channel).toBe('email')
    })

    suite.itReading(
      ['audit'],
      'never claims a delivery of a challenge that ended or expired, and cancels those',
      async () => {
        const { row, sent } = await withDelivery({ claimedUntil: null })
        const newer = f.challenge({ createdAt: T0 + 1 })
        const queued = delivery(newer, { claimedUntil: null })
        await f.storage.logins.issueChallenge(newer, [], [], [queued])
        expect((await f.storage.outbox.claimDeliveries(T0, LEASE, 10)).map((d) => d.id)).toEqual([queued.id])
        const cancelled = await f.storage.outbox.cancelDeliveries(T0 + 1, 10, (d, owner) =>
          draft(f.accountId, 'delivery', {
            outcome: 'cancelled',
            challengeId: d.challengeId,
            system: owner?.systemName ?? null,
            authid: owner?.authid ?? null,
          }),
        )
        expect(cancelled.map((d) => [d.id, d.status, d.payload])).toEqual([[sent.id, 'cancelled', null]])
        // The audit callback is told whose challenge it was.
        expect(
          (await f.storage.audit.listAudit({ accountId: f.accountId, limit: 10 })).map((e) => [
            e.challengeId,
            e.system,
            e.authid,
          ]),
        ).toEqual([[row.id, 'payroll', 'alice']])
        // The newer challenge's delivery goes too once its challenge has expired.
        const later = await f.storage.outbox.cancelDeliveries(newer.expiresAt, 10, (d) =>
          draft(f.accountId, 'x', { challengeId: d.challengeId }),
        )
        expect(later.map((d) => d.id)).toEqual([queued.id])
        expect(await f.storage.outbox.finishDelivery(outcome(queued, { attempt: 2 }), [])).toBe(false)
      },
    )

    it('hands each due delivery to exactly one of several concurrent claimers', async () => {
      await f.assign()
      const holder = f.challenge()
      const rows = Array.from({ length: 20 }, () => delivery(holder, { claimedUntil: null }))
      await f.storage.logins.issueChallenge(holder, [], [], rows)
      const claims = await Promise.all(
        Array.from({ length: 5 }, () => f.storage.outbox.claimDeliveries(T0, LEASE, 20)),
      )
      const ids = claims.flat().map((d) => d.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids.length).toBe(20)
    })

    it('keeps the secret fingerprint by compare-and-set, and replaces a payload only while unchanged (S33; the secret store is optional: skipped without one)', async (context) => {
      const store = f.storage.secretStore
      if (!store) return context.skip('the storage has no secretStore')
      expect(await store.readFingerprint()).toBeNull()
      const firsts = await Promise.all([
        store.swapFingerprint(null, 'fp-a'),
        store.swapFingerprint(null, 'fp-b'),
      ])
      expect(firsts.filter(Boolean)).toHaveLength(1)
      const stored = (await store.readFingerprint()) as string
      expect(await store.swapFingerprint('fp-other', 'fp-c')).toBe(false)
      expect(await store.swapFingerprint(stored, 'fp-c')).toBe(true)
      expect(await store.readFingerprint()).toBe('fp-c')

      const { sent } = await withDelivery({ payload: 'v1.old-seal' })
      expect(await store.sealedPayloads(null, 10)).toEqual([{ id: sent.id, payload: 'v1.old-seal' }])
      expect(await store.sealedPayloads(sent.id, 10)).toEqual([])
      expect(await store.replacePayload(sent.id, 'v1.other', 'v1.new-seal')).toBe(false)
      expect(await store.replacePayload(sent.id, 'v1.old-seal', 'v1.new-seal')).toBe(true)
      expect(await store.sealedPayloads(null, 10)).toEqual([{ id: sent.id, payload: 'v1.new-seal' }])
    })

    it(`stamps each write of a delivery with the time it is given, not an audit event’s ${NEEDS_INSPECTOR}`, async (context) => {
      const inspector = inspectorOf(f.storage, context)
      const { row, sent } = await withDelivery()
      const stamped = async () => (await inspector.listDeliveries(row.id))[0]?.updatedAt
      await f.storage.outbox.claimDeliveries(T0 + LEASE, LEASE, 10)
      expect(await stamped()).toBe(T0 + LEASE)
      const failed = outcome(sent, {
        attempt: 2,
        to: 'failed',
        at: T0 + LEASE + 7,
        nextAttemptAt: T0 + 5 * LEASE,
        providerId: null,
        lastError: '451',
      })
      expect(await f.storage.outbox.finishDelivery(failed, [])).toBe(true)
      expect(await stamped()).toBe(T0 + LEASE + 7)
      await f.storage.logins.transitionChallenge(
        { id: row.id, from: ['pending'], to: 'failed', at: T0 + 2 * LEASE, reported: true },
        [],
      )
      // Its audit event is stamped T0: the cancellation must not take its time from there.
      const cancelled = await f.storage.outbox.cancelDeliveries(T0 + 3 * LEASE, 10, (d) =>
        draft(f.accountId, 'delivery', { outcome: 'cancelled', challengeId: d.challengeId }),
      )
      expect(cancelled.map((d) => [d.id, d.updatedAt])).toEqual([[sent.id, T0 + 3 * LEASE]])
      expect(await stamped()).toBe(T0 + 3 * LEASE)
    })
  })
}

import type { Kysely } from 'kysely'
import { literals, param } from './prepared-query.js'
import type { Database } from './schema.js'

/** Outbox rows that are not final yet. */
export const UNFINISHED = ['queued', 'failed'] as const

/**
 * The outbox rows a dispatcher may claim (`challenge`: due, unclaimed or with a lapsed claim, and for
 * a challenge still pending and unexpired) or that must be cancelled (`ended`: their challenge is no
 * longer pending, or has expired). Both dialects build their claim and cancel on these.
 */
export function dueDeliveries(db: Kysely<Database>, which: 'challenge' | 'ended') {
  const base = db
    .selectFrom('fs_deliveries as d')
    .innerJoin('fs_challenges as c', 'c.id', 'd.challenge_id')
    .select('d.id')
    .where('d.status', 'in', literals(UNFINISHED))
  if (which === 'ended')
    return base.where((eb) => eb.or([eb('d.expires_at', '<=', param('at')), eb('c.status', '!=', 'pending')]))
  return base
    .where('d.next_attempt_at', '<=', param('at'))
    .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<=', param('at'))]))
    .where('d.expires_at', '>', param('at'))
    .where('c.status', '=', 'pending')
    .orderBy('d.next_attempt_at')
}

// Fills a SQLite file with what the console benchmark needs: 100,000 users and 1,000,000 audit events
// (a month of logins), plus past challenges and deliveries. Rows go in with raw prepared statements in
// large transactions, since a million engine calls would take an hour; the audit events are sealed
// with the engine's own sealer, chained from the account's head, so verification walks a real chain.

import { randomBytes } from 'node:crypto'
import { auditSealer } from '@flexsecure/core'
import type BetterSqlite3 from 'better-sqlite3'

const DAY = 86_400_000
const SYSTEMS = ['payroll', 'crm', 'wiki', 'vpn', 'shop']
const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger']
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Allen',
  'Dijkstra',
]

const id = () => randomBytes(18).toString('base64url')

/** The authid of user `i`: `user000042`. */
export const authidOf = (i: number) => `user${String(i).padStart(6, '0')}`

/** What `seed` wrote, and how long it took. */
export interface Seeded {
  readonly users: number
  readonly events: number
  readonly seconds: number
}

/**
 * Adds `users` users (names, emails, phones; every 1000th locked), `events` audit events spread over
 * the 30 days before `now`, and the challenges and deliveries of recent logins.
 */
export function seed(
  db: BetterSqlite3.Database,
  options: {
    accountId: string
    secret: string
    users: number
    events: number
    now: number
    systemIds: Map<string, string>
  },
): Seeded {
  const started = performance.now()
  const { accountId, now } = options
  const insertUser = db.prepare(
    `INSERT INTO fs_users (id, account_id, authid, display_name, email, phone, locale, attributes, memorized_pin_hash,
       status, failure_streak, retry_after, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, 0, NULL, ?, ?)`,
  )
  const userIds: string[] = []
  db.transaction(() => {
    for (let i = 0; i < options.users; i++) {
      const userId = id()
      userIds.push(userId)
      const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]} ${i}`
      const phone = `+1415${String(5_000_000 + i).padStart(7, '0')}`
      insertUser.run(
        userId,
        accountId,
        authidOf(i),
        name,
        `${authidOf(i)}@example.com`,
        phone,
        i % 1000 === 999 ? 'locked' : 'active',
        now - 40 * DAY,
        now - 40 * DAY,
      )
    }
  })()

  // A month of logins: started, message sent, link confirmed, checked (one in ten expires instead).
  const insertEvent = db.prepare(
    `INSERT INTO fs_audit_events (account_id, seq, at, type, actor, system, authid, challenge_id, outcome, reason, ip,
       user_agent, details, prev_mac, mac) VALUES (?, ?, ?, ?, 'bench-key', ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)`,
  )
  const head = db.prepare('SELECT seq, mac FROM fs_audit_heads WHERE account_id = ?').get(accountId) as {
    seq: number
    mac: string | null
  }
  const sealer = auditSealer(options.secret)
  let seq = Number(head.seq)
  let mac = head.mac
  const span = 30 * DAY
  // Four events a login, three for the one in ten that expires: 3.9 on average.
  const logins = Math.ceil(options.events / 3.9)
  const append = (
    at: number,
    type: string,
    system: string,
    authid: string,
    challengeId: string,
    outcome: string,
    details: Record<string, unknown> | null,
  ) => {
    seq += 1
    const event = {
      accountId,
      seq,
      at,
      type,
      actor: 'bench-key',
      system,
      authid,
      challengeId,
      outcome,
      reason: null,
      ip: '203.0.113.7',
      userAgent: null,
      details,
    }
    const next = sealer.event(mac, event)
    insertEvent.run(
      accountId,
      seq,
      at,
      type,
      system,
      authid,
      challengeId,
      outcome,
      '203.0.113.7',
      details === null ? null : JSON.stringify(details),
      mac,
      next,
    )
    mac = next
  }
  const batch = 20_000
  for (let from = 0; from < logins; from += batch) {
    db.transaction(() => {
      for (let login = from; login < Math.min(logins, from + batch); login++) {
        const at = now - span + Math.floor((login / logins) * span)
        const system = SYSTEMS[login % SYSTEMS.length] as string
        const authid = authidOf((login * 7919) % options.users)
        const challengeId = id()
        append(at, 'challenge.started', system, authid, challengeId, 'success', {
          method: 'passwordless',
          channel: 'email',
        })
        append(at + 200, 'delivery', system, authid, challengeId, 'sent', { channel: 'email' })
        if (login % 10 === 9)
          append(at + 600_000, 'challenge.checked', system, authid, challengeId, 'expired', null)
        else {
          append(at + 20_000, 'link.confirmed', system, authid, challengeId, 'confirmed', null)
          append(at + 21_000, 'challenge.checked', system, authid, challengeId, 'authenticated', null)
        }
      }
    })()
  }
  db.prepare('UPDATE fs_audit_heads SET seq = ?, mac = ?, head_mac = ? WHERE account_id = ?').run(
    seq,
    mac,
    sealer.head({ accountId, seq, mac, anchorSeq: 0, anchorMac: null }),
    accountId,
  )

  // The last day's challenges and their deliveries: most sent, some waiting for a retry, some abandoned.
  const insertChallenge = db.prepare(
    `INSERT INTO fs_challenges (id, account_id, system_id, user_id, system_name, authid, method, channel, status,
       link_hash, pin_hash, pin_length, attempts, max_attempts, created_at, expires_at, completed_at,
       outcome_reported, context, delivery_id) VALUES (?, ?, ?, ?, ?, ?, 'passwordless', 'email', ?, ?, NULL, NULL, 0, 0, ?, ?, ?, 1, NULL, ?)`,
  )
  const insertDelivery = db.prepare(
    `INSERT INTO fs_deliveries (id, account_id, challenge_id, channel, destination, status, attempts, next_attempt_at,
       claimed_until, provider_id, last_error, payload, created_at, updated_at, expires_at, fallback_of)
     VALUES (?, ?, ?, 'email', 'u***@example.com', ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, NULL)`,
  )
  db.transaction(() => {
    for (let i = 0; i < 50_000; i++) {
      const at = now - DAY + Math.floor((i / 50_000) * DAY)
      const live = i >= 49_800
      const status = live ? 'pending' : 'authenticated'
      const system = SYSTEMS[i % SYSTEMS.length] as string
      const user = (i * 31) % options.users
      const challengeId = id()
      const deliveryId = id()
      const expires = live ? now + 600_000 : at + 600_000
      insertChallenge.run(
        challengeId,
        accountId,
        options.systemIds.get(system),
        userIds[user],
        system,
        authidOf(user),
        status,
        randomBytes(32).toString('hex'),
        at,
        expires,
        live ? null : at + 30_000,
        deliveryId,
      )
      const delivery = i % 100 === 0 ? 'abandoned' : live && i % 2 === 0 ? 'failed' : 'sent'
      insertDelivery.run(
        deliveryId,
        accountId,
        challengeId,
        delivery,
        delivery === 'sent' ? 1 : 3,
        delivery === 'failed' ? now + 30_000 : at,
        delivery === 'sent' ? null : '451 mailbox busy',
        delivery === 'failed' ? 'sealed' : null,
        at,
        at + 5000,
        expires,
      )
    }
  })()
  return { users: options.users, events: seq, seconds: (performance.now() - started) / 1000 }
}

// The two sides of the PostgreSQL flow bench, as one process runs them: the floor (raw `pg`, the least a
// login can do) and the engine (the passwordless flow through createEngine and postgresStorage), with the
// pool both use and the loop that runs logins for a fixed time.

import { createHash, randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { type AccountHandle, createEngine, type Engine } from '@flexsecure/core'
import { type CapturedMessage, type CaptureNotifier, captureNotifier } from '@flexsecure/core/testing'
import { postgresStorage } from '@flexsecure/postgres'
import pg from 'pg'
import { LIFTED_SEND_LIMITS } from './bench-settings.js'
import {
  BASE_URL,
  BATCHING,
  IN_FLIGHT,
  LIFETIME_MS,
  POOL,
  SECRET,
  SEED_BATCH,
  SYSTEM,
  USERS,
} from './pg-settings.js'

/** The users of process `index` out of `processes`: every `processes`th one, so no two share a user. */
export function usersOf(index: number, processes: number): string[] {
  const users: string[] = []
  for (let i = index; i < USERS; i += processes) users.push(`u${i}`)
  return users
}

/** One side of the bench, as one process runs it: sequential logins. */
export interface Runner {
  /** The users it logs in, when it matters which (the engine's). */
  readonly users?: readonly string[]
  login(n: number): Promise<void>
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------------
// The floor: a naive minimal login on raw prepared statements, each one its own autocommit transaction.

export const FLOOR_SCHEMA = `
  CREATE TABLE floor_challenges (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    status text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    completed_at bigint
  );
  CREATE TABLE floor_audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    challenge_id text NOT NULL,
    type text NOT NULL,
    at bigint NOT NULL
  );
`
export const FLOOR_INSERT =
  "INSERT INTO floor_challenges (id, token_hash, status, created_at, expires_at) VALUES ($1, $2, 'pending', $3, $4)"
export const FLOOR_SELECT = 'SELECT id, status, expires_at FROM floor_challenges WHERE token_hash = $1'
export const FLOOR_CONFIRM =
  "UPDATE floor_challenges SET status = 'confirmed', completed_at = $1 WHERE id = $2 AND status = 'pending' AND expires_at > $3"
export const FLOOR_AUDIT = 'INSERT INTO floor_audit (challenge_id, type, at) VALUES ($1, $2, $3)'

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * A pool of POOL connections, the same on both sides. Its connections stay open while idle (pg closes them
 * after 10 s by default, and a process waits longer than that between its runs), so no run pays for connecting.
 */
export function openPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: POOL, idleTimeoutMillis: 0 })
  pool.on('error', idleError)
  return pool
}

/** Set once the bench drops its database: its connections' errors are then expected. */
let dropping = false

/** From now on, connections ending is expected (the bench is dropping its database). */
export function expectDisconnects(): void {
  dropping = true
}

/**
 * An idle connection's error: pg emits it on the pool or client, and without a listener it ends the process.
 * The one expected is the server ending connections when the bench drops its database (after Ctrl-C).
 */
export function idleError(error: Error & { code?: string }): void {
  if (!dropping && error.code !== '57P01')
    console.error('[bench] an idle PostgreSQL connection failed:', error.message)
}

export function openFloor(url: string): Runner {
  const pool = openPool(url)
  return {
    async login() {
      // Same sizes as the engine's: a 24-character id and a 32-character (192-bit) link token.
      const id = randomBytes(18).toString('base64url')
      const token = randomBytes(24).toString('base64url')
      const now = Date.now()
      // Named queries: pg prepares each once per connection, then only binds and executes it.
      await pool.query({
        name: 'floor_insert',
        text: FLOOR_INSERT,
        values: [id, sha256(token), now, now + LIFETIME_MS],
      })
      // The link comes back: hash the token again and find its challenge.
      const { rows } = await pool.query<{ id: string; status: string }>({
        name: 'floor_select',
        text: FLOOR_SELECT,
        values: [sha256(token)],
      })
      const row = rows[0]
      if (row?.status !== 'pending') throw new Error('floor: challenge not found')
      const confirmed = await pool.query({
        name: 'floor_confirm',
        text: FLOOR_CONFIRM,
        values: [now, row.id, now],
      })
      if (confirmed.rowCount !== 1) throw new Error('floor: challenge not confirmed')
      await pool.query({ name: 'floor_audit', text: FLOOR_AUDIT, values: [row.id, 'login', now] })
    },
    close: () => pool.end(),
  }
}

// ---------------------------------------------------------------------------------------------------
// The engine: the full passwordless flow through createEngine and the PostgreSQL adapter.

export interface EngineBench extends Runner {
  readonly engine: Engine
  readonly acme: AccountHandle
  readonly notifier: CaptureNotifier
  readonly users: readonly string[]
}

/** Milliseconds spent in each step, summed over a run. */
export interface StepTimes {
  start: number
  confirm: number
  check: number
}

/**
 * An engine on postgresStorage over `pool` (which its close() ends), logging in `users` of account `accountId`.
 * `times` sums each step's time, when set.
 */
export function engineBench(
  pool: pg.Pool,
  accountId: string,
  users: readonly string[],
): EngineBench & { times: StepTimes | null } {
  const notifier = captureNotifier()
  const engine = createEngine({
    storage: postgresStorage({ pool, batching: BATCHING }),
    notifier,
    secret: SECRET,
    links: { baseUrl: BASE_URL },
    // The bench measures the flow, not the call budgets of S31 (an account's 15 starts a second).
    throttle: false,
    // No timers of its own: their outbox claims landed inside the counted steps.
    background: false,
  })
  const acme = engine.account(accountId)
  const bench = {
    engine,
    acme,
    notifier,
    users,
    times: null as StepTimes | null,
    /** One login: start, follow the link, poll. `n` picks the user round-robin. */
    async login(n: number) {
      const authid = users[n % users.length] as string
      const t0 = performance.now()
      const started = await acme.start({ system: SYSTEM, authid })
      const t1 = performance.now()
      if (started.result !== 'success') throw new Error(`engine: start answered ${started.result}`)
      // This login's own message, taken out, so logins in flight together never take each other's.
      const sent = notifier.messages as CapturedMessage[]
      const index = sent.findLastIndex((m) => m.to === `${authid}@example.com`)
      const token = sent[index]?.token
      if (index >= 0) sent.splice(index, 1)
      if (!token) throw new Error('engine: no link token in the message')
      const t2 = performance.now()
      const confirmed = await engine.links.confirm(token)
      const t3 = performance.now()
      if (confirmed.result !== 'confirmed') throw new Error(`engine: confirm answered ${confirmed.result}`)
      const checked = await acme.check({ system: SYSTEM, authid })
      const t4 = performance.now()
      if (checked.result !== 'authenticated') throw new Error(`engine: check answered ${checked.result}`)
      if (bench.times) {
        bench.times.start += t1 - t0
        bench.times.confirm += t3 - t2
        bench.times.check += t4 - t3
      }
    },
    async close() {
      await engine.close()
      await pool.end()
    },
  }
  return bench
}

/** An account with send limits lifted, a system with passwordless, and `users` assigned to it. */
export async function seedAccount(engine: Engine, name: string, users: readonly string[]): Promise<string> {
  // The bench measures the flow, not the throttle: lift the send limits (S18) far above its load.
  const { id } = await engine.accounts.create({ name, settings: { sendLimits: LIFTED_SEND_LIMITS } })
  const account = engine.account(id)
  await account.systems.create({ name: SYSTEM, policies: { passwordless: { enabled: true } } })
  for (let i = 0; i < users.length; i += SEED_BATCH)
    await Promise.all(
      users.slice(i, i + SEED_BATCH).map(async (authid) => {
        await account.users.create({ authid, email: `${authid}@example.com` })
        await account.users.assign(authid, [{ system: SYSTEM, method: 'passwordless' }])
      }),
    )
  return id
}

/**
 * Logs in until `ms` have passed, IN_FLIGHT logins at a time; returns the logins and the time they took.
 * One in flight takes the users round-robin (`next`); with more, worker w of k takes the users whose
 * number is w modulo k, so no two logins in flight share a user (a start would supersede the other's).
 */
export async function runFor(
  runner: Runner,
  ms: number,
  next: () => number,
): Promise<{ logins: number; ms: number }> {
  const t0 = performance.now()
  let logins = 0
  const share = runner.users ? Math.max(1, Math.floor(runner.users.length / IN_FLIGHT)) : 1
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      for (let i = next(); performance.now() - t0 < ms; i = next()) {
        await runner.login(IN_FLIGHT === 1 ? i : w + IN_FLIGHT * (i % share))
        logins++
      }
    }),
  )
  return { logins, ms: performance.now() - t0 }
}

// FlexSecure as a contender: createEngine + sqliteStorage on a better-sqlite3 file with its defaults (group
// commit; one-time PINs as a keyed HMAC, S8), and a notifier that keeps each recipient's newest link token or PIN, as a mailbox would.

import {
  type AccountHandle,
  createEngine,
  type Engine,
  type Notifier,
  type StartInput,
} from '@flexsecure/core'
import { parseSecret } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'
import BetterSqlite3 from 'better-sqlite3'
import { LIFTED_SEND_LIMITS, type Synchronous } from './bench-settings.js'
import { type Contender, type Flow, runStep, type StepRunner } from './login-harness.js'

/** The engine secret of every bench database: the scale bench's cached files are sealed under it. */
export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret'

/** The system each flow logs in to: `link` assigns passwordless, `pin` the one-time PIN method. */
export const SYSTEMS: Record<Flow, string> = { link: 'link', pin: 'pin' }

/** User n's authid, the same in every FlexSecure bench database. */
export const authidOf = (n: number) => `u${n}`
/** User n's address, the same on every side of every bench. */
export const emailOf = (n: number) => `u${n}@example.com`

/** A notifier that keeps the secret of each recipient's newest message, for `take` to hand over once. */
export interface Inbox extends Notifier {
  /** The link token or PIN last sent to `to`; throws if nothing is waiting. */
  take(to: string): string
}

/** A notifier for the bench: no delivery, only the secret kept for the login that waits for it. */
export function inboxNotifier(): Inbox {
  const waiting = new Map<string, string>()
  return {
    async send(message) {
      const { token, pin } = parseSecret(message)
      const secret = token ?? pin
      if (!secret) throw new Error(`bench inbox: no link or PIN in the message to ${message.to}`)
      waiting.set(message.to, secret)
      return { providerId: null }
    },
    take(to) {
      const secret = waiting.get(to)
      if (secret === undefined) throw new Error(`bench inbox: nothing was sent to ${to}`)
      waiting.delete(to)
      return secret
    },
  }
}

/** What the engine does differently from its defaults: issue 16's before, for a comparison in the same run. */
export interface EngineVariant {
  /** false: every transaction commits on its own (before issue 16). Default true. */
  readonly groupCommit?: boolean
  /** 'argon2id': one-time PINs hashed with argon2id (before issue 16). Default 'hmac'. */
  readonly pinHashing?: 'hmac' | 'argon2id'
  /** 'in-commit': SQLite's own FULL, the sync inside COMMIT on the main thread. Default 'off-thread'. */
  readonly durableCommits?: 'off-thread' | 'in-commit'
  /** false: every write waits for the disk, confirmations and check moves included. Default true. */
  readonly deferredSync?: boolean
  /** How long a deferred-only batch may wait for its sync (ms). Default: the storage's. */
  readonly deferredSyncDelayMs?: number
  /** false: every sync on libuv's pool, none on the event loop while logins come one at a time. Default true. */
  readonly inlineSyncs?: boolean
}

/** How a variant's commits reach the disk, for the table's header. */
export function durabilityOf(synchronous: Synchronous, variant: EngineVariant = {}): string {
  if (synchronous === 'normal') return 'no commit waits for the disk'
  if (variant.durableCommits === 'in-commit') return 'every COMMIT syncs on the main thread'
  if (variant.deferredSync === false) return 'WAL synced off-thread before every answer'
  const deferred =
    variant.deferredSyncDelayMs === 0
      ? 'each batch of them synced at once'
      : `synced with the next durable write, within ${variant.deferredSyncDelayMs ?? 5} ms`
  const where =
    variant.inlineSyncs === false
      ? 'every sync on the pool'
      : 'on the event loop while commits come one at a time'
  return `WAL synced off-thread (${where}) before the answers that precede a send, deferred for the others (${deferred})`
}

/** An engine on `database` at `synchronous`. */
export function openEngine(
  database: BetterSqlite3.Database,
  synchronous: Synchronous,
  inbox: Inbox,
  variant: EngineVariant = {},
  walCheckpoints: 'connection' | 'worker' = 'worker',
): Engine {
  const engine = createEngine({
    // As the server runs it: WAL checkpoints on a worker thread.
    storage: sqliteStorage({
      database,
      synchronous,
      groupCommit: variant.groupCommit ?? true,
      walCheckpoints,
      durableCommits: variant.durableCommits ?? 'off-thread',
      deferredSync: variant.deferredSync ?? true,
      ...(variant.deferredSyncDelayMs !== undefined
        ? { deferredSyncDelayMs: variant.deferredSyncDelayMs }
        : {}),
      ...(variant.inlineSyncs === false ? { inlineSyncs: false } : {}),
    }),
    pinHashing: variant.pinHashing ?? 'hmac',
    // The per-minute operation budgets of S31 (in process, per key and account) would refuse the bench's
    // load within a second: they are lifted like the send limits (LIFTED_SEND_LIMITS).
    throttle: false,
    // No timers of its own: a claim of the outbox's retries landing inside a step made the statement
    // counts differ between logins (sqlite-flow.bench.ts stopped on it); every send here happens in start.
    background: false,
    notifier: inbox,
    secret: BENCH_SECRET,
    links: { baseUrl: 'https://auth.example.com' },
  })
  return engine
}

/**
 * One account with the send limits lifted, the two systems, and `users` users with an email address,
 * each assigned to both: what every FlexSecure bench database starts from. The schema must exist.
 */
export async function seedAccount(engine: Engine, users: number): Promise<string> {
  const { id } = await engine.accounts.create({ name: 'Bench', settings: { sendLimits: LIFTED_SEND_LIMITS } })
  const account = engine.account(id)
  await account.systems.create({ name: SYSTEMS.link, policies: { passwordless: { enabled: true } } })
  await account.systems.create({ name: SYSTEMS.pin, policies: { pin: { enabled: true } } })
  for (let n = 0; n < users; n++) {
    await account.users.create({ authid: authidOf(n), email: emailOf(n) })
    await account.users.assign(authidOf(n), [
      { system: SYSTEMS.link, method: 'passwordless' },
      { system: SYSTEMS.pin, method: 'pin' },
    ])
  }
  return id
}

/**
 * `start` as a step. Its delivery outcome is written behind the send; a counted step (not `runStep`)
 * waits for it, since `challenge.delivery` follows the write, so that its statements count as the start's.
 */
function startStep(engine: Engine, account: AccountHandle, login: StartInput, step: StepRunner) {
  if (step === runStep) return step('start', () => account.start(login))
  return step('start', async () => {
    const recorded = new Promise((resolve) => engine.events.once('challenge.delivery', resolve))
    const answer = await account.start(login)
    await recorded
    return answer
  })
}

/** A link login: start, confirm the link from the message, check (`authenticated`). */
async function linkLogin(engine: Engine, account: AccountHandle, inbox: Inbox, n: number, step: StepRunner) {
  const login = { system: SYSTEMS.link, authid: authidOf(n) }
  const started = await startStep(engine, account, login, step)
  if (started.result !== 'success') throw new Error(`FlexSecure: start answered ${JSON.stringify(started)}`)
  const token = inbox.take(emailOf(n))
  const confirmed = await step('confirm', () => engine.links.confirm(token))
  if (confirmed.result !== 'confirmed') throw new Error(`FlexSecure: confirm answered ${confirmed.result}`)
  const checked = await step('check', () => account.check(login))
  if (checked.result !== 'authenticated') throw new Error(`FlexSecure: check answered ${checked.result}`)
}

/** A PIN login: start, check with the PIN from the message (`authenticated`). */
async function pinLogin(engine: Engine, account: AccountHandle, inbox: Inbox, n: number, step: StepRunner) {
  const login = { system: SYSTEMS.pin, authid: authidOf(n) }
  const started = await startStep(engine, account, login, step)
  if (started.result !== 'success') throw new Error(`FlexSecure: start answered ${JSON.stringify(started)}`)
  const pin = inbox.take(emailOf(n))
  const checked = await step('check', () => account.check({ ...login, pin }))
  if (checked.result !== 'authenticated') throw new Error(`FlexSecure: check answered ${checked.result}`)
}

/**
 * FlexSecure on `filename` at `synchronous`. A new file is seeded with `users` users; an existing one
 * (the scale bench's) must hold exactly one account seeded the same way.
 */
export async function flexSecureContender(options: {
  readonly name: string
  readonly filename: string
  readonly synchronous: Synchronous
  readonly users: number
  /** Another connection to use instead of opening `filename` (the counting pass's). */
  readonly database?: BetterSqlite3.Database
  readonly variant?: EngineVariant
}): Promise<Contender> {
  const database = options.database ?? new BetterSqlite3(options.filename)
  const inbox = inboxNotifier()
  // The counting pass (its own connection) reads WAL pages off the file with checkpoints off; a worker's
  // checkpoints would start the WAL over under it.
  const engine = openEngine(
    database,
    options.synchronous,
    inbox,
    options.variant,
    options.database ? 'connection' : 'worker',
  )
  await engine.migrate()
  const existing = await engine.accounts.list()
  if (existing.length > 1)
    throw new Error(`${options.filename}: expected one account, found ${existing.length}`)
  const accountId =
    existing.length === 0 ? await seedAccount(engine, options.users) : (existing[0]?.id as string)
  const account = engine.account(accountId)
  return {
    name: options.name,
    flows: ['link', 'pin'],
    database,
    durability: durabilityOf(options.synchronous, options.variant),
    login: (flow, n, step = runStep) =>
      flow === 'link'
        ? linkLogin(engine, account, inbox, n, step)
        : pinLogin(engine, account, inbox, n, step),
    async close() {
      await engine.close()
      if (database.open) database.close()
    },
  }
}

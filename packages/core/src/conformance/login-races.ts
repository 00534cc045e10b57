import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type AuditVerdict, verifyAuditChain } from '../audit/audit-chain.js'
import { DeliveryError } from '../domain/errors.js'
import { createEngine, type Engine } from '../engine.js'
import type { AccountSettingsInput } from '../policy/account-settings.js'
import type { PinHashing } from '../ports/pin-hashing.js'
import type { ChallengeRow, Storage } from '../ports/storage.js'
import { captureNotifier } from '../testing/capture-notifier.js'
import { cheapHasher } from '../testing/cheap-hasher.js'

// Races that only separate processes can run: better-sqlite3 is synchronous, so Promise.all in one
// process never interleaves two statements. Each race sets up a login in this process, then has
// several child processes, each with its own storage on the same database, hit it at once.

/** How a child process opens the same database: a module exporting `openStorage(options)`. */
export interface SharedDatabase {
  /** A file URL or path of a module whose `openStorage(options)` returns a Storage (or a promise of one). */
  readonly module: string
  /** JSON-serializable options for `openStorage` (a file name, a connection string). */
  readonly options: unknown
}

export interface RaceOptions {
  /** This process's storage on the database, already migrated. */
  readonly storage: Storage
  readonly shared: SharedDatabase
  readonly processes?: number
  /** Calls in all, spread across the processes. */
  readonly total?: number
}

export type RaceJob =
  | { readonly kind: 'confirm'; readonly token: string }
  | {
      readonly kind: 'check'
      readonly accountId: string
      readonly pin: string
      /** How the one-time PIN is kept: argon2id (default here, its verifications counted) or the HMAC. */
      readonly pinHashing?: PinHashing
    }
  | { readonly kind: 'start'; readonly accountId: string }
  | { readonly kind: 'deliver' }
  | { readonly kind: 'redeem'; readonly code: string }

export const RACE_SYSTEM = 'race-system'
export const RACE_USER = 'racer'
export const RACE_SECRET = 'race-secret-race-secret-race-secret'
export const RACE_BASE_URL = 'https://race.example.com'

const childModule = fileURLToPath(
  new URL(`./race-process${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
)

/** What the children answered, and how many PINs their hashers verified in all. */
export interface RaceAnswers {
  readonly results: string[]
  readonly verifications: number
}

/** Runs `job` `total` times across `processes` children at once; returns every call's answer. */
export async function raceAcrossProcesses(
  shared: SharedDatabase,
  job: RaceJob,
  processes = 4,
  total = 50,
): Promise<RaceAnswers> {
  const execArgv = childModule.endsWith('.ts') ? ['--import', 'tsx'] : []
  const children: ChildProcess[] = []
  try {
    const counts = Array.from(
      { length: processes },
      (_, i) => Math.floor(total / processes) + (i < total % processes ? 1 : 0),
    )
    const ready = counts.map(() => {
      const child = fork(childModule, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      children.push(child)
      return new Promise<ChildProcess>((resolve, reject) => {
        child.once('error', reject)
        child.once('exit', (code) => reject(new Error(`race process exited early with code ${code}`)))
        child.once('message', () => resolve(child))
        child.send({ type: 'open', module: shared.module, options: shared.options })
      })
    })
    await Promise.all(ready)
    // Every process has its storage open: now release them together.
    const answers = await Promise.all(
      children.map(
        (child, i) =>
          new Promise<RaceAnswers>((resolve, reject) => {
            child.removeAllListeners('exit')
            child.once('exit', (code) =>
              reject(new Error(`race process exited with code ${code} before answering`)),
            )
            child.once(
              'message',
              (message: { type: string; results?: string[]; verifications?: number; error?: string }) =>
                message.type === 'done'
                  ? resolve({ results: message.results ?? [], verifications: message.verifications ?? 0 })
                  : reject(new Error(message.error)),
            )
            child.send({ type: 'go', job, count: counts[i] })
          }),
      ),
    )
    return {
      results: answers.flatMap((a) => a.results),
      verifications: answers.reduce((sum, a) => sum + a.verifications, 0),
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
  }
}

interface PreparedLogin {
  readonly engine: Engine
  readonly accountId: string
  readonly challengeId: string
  readonly secret: string
}

/** One account, one system with both methods, one user assigned `method`, and a started challenge. */
async function prepareLogin(
  storage: Storage,
  method: 'passwordless' | 'pin',
  settings: AccountSettingsInput = {},
  returnUrl?: string,
  pinHashing: PinHashing = 'argon2id',
): Promise<PreparedLogin> {
  const notifier = captureNotifier()
  const engine = createEngine({
    // The race decides when work runs, not the engine's own timers.
    background: false,
    storage,
    notifier,
    secret: RACE_SECRET,
    links: { baseUrl: RACE_BASE_URL },
    hasher: cheapHasher(),
    pinHashing,
  })
  // Concurrent starts race on supersession and send limits, not on the resend cooldown (one more limit).
  const { id: accountId } = await engine.accounts.create({
    name: 'Race',
    settings: { ...settings, sendLimits: { resendCooldownSeconds: 0, ...settings.sendLimits } },
  })
  const account = engine.account(accountId)
  await account.systems.create({
    name: RACE_SYSTEM,
    policies: {
      passwordless: { enabled: true, ...(returnUrl ? { returnUrls: [returnUrl] } : {}) },
      pin: { enabled: true },
    },
  })
  await account.users.create({ authid: RACE_USER, email: 'racer@example.com' })
  await account.users.assign(RACE_USER, [{ system: RACE_SYSTEM, method }])
  const started = await account.start({
    system: RACE_SYSTEM,
    authid: RACE_USER,
    ...(returnUrl ? { returnUrl } : {}),
  })
  if (started.result !== 'success' || started.challengeId === undefined)
    throw new Error(`race setup could not start: ${JSON.stringify(started)}`)
  const message = notifier.last()
  const secret = method === 'pin' ? message.pin : message.token
  if (!secret) throw new Error('race setup found no secret in the message')
  return { engine, accountId, challengeId: started.challengeId, secret }
}

/** What storage holds after a race: the challenge, and whether the account's audit chain still verifies. */
async function report(storage: Storage, login: PreparedLogin, answers: RaceAnswers): Promise<RaceReport> {
  return {
    ...answers,
    final: await storage.logins.getChallenge(login.challengeId),
    failureStreak: (await storage.users.getUser(login.accountId, RACE_USER))?.failureStreak ?? null,
    audit: await verifyAuditChain(storage, RACE_SECRET, login.accountId),
  }
}

export interface RaceReport extends RaceAnswers {
  /** The race account's audit chain, verified after the race: every process appended to it at once. */
  readonly audit: AuditVerdict
  /** The challenge as storage holds it after the race. */
  readonly final: ChallengeRow | null
  /** The racing user's consecutive failures after the race (S17): one for each wrong PIN evaluated. */
  readonly failureStreak: number | null
}

/** `total` confirms of one link at once. Exactly one may answer `confirmed`. */
export async function raceLinkConfirms(options: RaceOptions): Promise<RaceReport> {
  const login = await prepareLogin(options.storage, 'passwordless')
  const answers = await raceAcrossProcesses(
    options.shared,
    { kind: 'confirm', token: login.secret },
    options.processes,
    options.total,
  )
  return report(options.storage, login, answers)
}

/** A confirmed link's completion code redeemed `total` times at once. Exactly one may answer `authenticated`. */
export async function raceCompletionRedeems(options: RaceOptions): Promise<RaceReport> {
  const login = await prepareLogin(options.storage, 'passwordless', {}, `${RACE_BASE_URL}/auth/return`)
  const confirmed = await login.engine.links.confirm(login.secret)
  if (confirmed.result !== 'confirmed' || !confirmed.completionUrl)
    throw new Error(`race setup got no completion code: ${JSON.stringify(confirmed)}`)
  const code = new URL(confirmed.completionUrl).searchParams.get('code') as string
  const answers = await raceAcrossProcesses(
    options.shared,
    { kind: 'redeem', code },
    options.processes,
    options.total,
  )
  return report(options.storage, login, answers)
}

/**
 * `total` checks of one PIN at once, correct or wrong. At most one `authenticated`; guesses within the
 * budget. `pinHashing: 'hmac'` (the engine's default) races the path that verifies a keyed PIN before its
 * attempt is taken; its verifications are not counted.
 */
export async function racePinChecks(
  options: RaceOptions & { readonly correct: boolean; readonly pinHashing?: PinHashing },
): Promise<RaceReport> {
  const pinHashing = options.pinHashing ?? 'argon2id'
  const login = await prepareLogin(options.storage, 'pin', {}, undefined, pinHashing)
  const pin = options.correct
    ? login.secret
    : login.secret.replace(/\d$/, (d) => String((Number(d) + 1) % 10))
  const answers = await raceAcrossProcesses(
    options.shared,
    { kind: 'check', accountId: login.accountId, pin, pinHashing },
    options.processes,
    options.total,
  )
  return report(options.storage, login, answers)
}

/**
 * `total` starts for one user at once, under a per-user send limit (default: no practical limit).
 * Afterwards exactly one of its challenges may be live, and no more than the limit were issued.
 */
export async function raceStarts(
  options: RaceOptions & { readonly perUserPerHour?: number },
): Promise<RaceReport & { readonly live: number }> {
  const perUserPerHour = options.perUserPerHour ?? 1_000_000
  const login = await prepareLogin(options.storage, 'passwordless', {
    sendLimits: { perUserPerHour, perDestinationPerHour: perUserPerHour },
  })
  const answers = await raceAcrossProcesses(
    options.shared,
    { kind: 'start', accountId: login.accountId },
    options.processes,
    options.total,
  )
  const results = answers.results
  const subject = await options.storage.logins.resolveLogin(login.accountId, RACE_SYSTEM, RACE_USER)
  const ids = results.filter((r) => r.startsWith('success:')).map((r) => r.slice('success:'.length))
  const rows = await Promise.all(
    [login.challengeId, ...ids].map((id) => options.storage.logins.getChallenge(id)),
  )
  const live = rows.filter((row) => row?.status === 'pending' || row?.status === 'confirmed').length
  return {
    ...answers,
    final: subject?.challenge ?? null,
    failureStreak: subject?.user?.failureStreak ?? null,
    live,
    audit: await verifyAuditChain(options.storage, RACE_SECRET, login.accountId),
  }
}

/**
 * `users` logins whose first delivery failed for now, all due for a retry; then `total` runs of the
 * outbox (`deliverDue`) at once across the processes. Every message must go out exactly once.
 */
export async function raceDeliveries(
  options: RaceOptions & { readonly users?: number },
): Promise<RaceAnswers & { readonly statuses: string[]; readonly audit: AuditVerdict }> {
  const users = options.users ?? 20
  // Half a minute in the past: the retries are due now, the PINs still live for minutes.
  const issuedAt = Date.now() - 30_000
  const engine = createEngine({
    // The race decides when work runs, not the engine's own timers.
    background: false,
    storage: options.storage,
    notifier: { send: async () => Promise.reject(new DeliveryError('temporary', '421 busy')) },
    secret: RACE_SECRET,
    links: { baseUrl: RACE_BASE_URL },
    hasher: cheapHasher(),
    pinHashing: 'argon2id',
    clock: { now: () => issuedAt },
    logger: { warn: () => {}, error: () => {} },
  })
  const { id: accountId } = await engine.accounts.create({
    name: 'Race',
    settings: { sendLimits: { resendCooldownSeconds: 0 } },
  })
  const account = engine.account(accountId)
  await account.systems.create({
    name: RACE_SYSTEM,
    policies: { pin: { enabled: true, channels: ['email'] } },
  })
  const challenges: string[] = []
  for (let i = 0; i < users; i++) {
    await account.users.create({ authid: `racer${i}`, email: `racer${i}@example.com` })
    await account.users.assign(`racer${i}`, [{ system: RACE_SYSTEM, method: 'pin' }])
    const started = await account.start({ system: RACE_SYSTEM, authid: `racer${i}` })
    if (started.result !== 'success' || !('delivery' in started) || started.delivery !== 'failed')
      throw new Error(`race setup expected a failed first delivery: ${JSON.stringify(started)}`)
    challenges.push(started.challengeId)
  }
  // The failed outcomes are written behind the sends; deliverDue writes them first (and, at the
  // setup's clock, finds nothing due yet), so no row is still this process's claim when the race starts.
  await engine.deliverDue()
  const answers = await raceAcrossProcesses(
    options.shared,
    { kind: 'deliver' },
    options.processes,
    options.total,
  )
  const rows = await Promise.all(challenges.map((id) => options.storage.inspector!.listDeliveries(id)))
  return {
    ...answers,
    statuses: rows.flat().map((row) => row.status),
    audit: await verifyAuditChain(options.storage, RACE_SECRET, accountId),
  }
}

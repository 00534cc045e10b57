import { createHmac, hkdfSync } from 'node:crypto'
import { EventEmitter } from 'eventemitter3'
import {
  adminAudit,
  type SystemInput,
  type SystemsAdmin,
  systemsAdmin,
  type UsersAdmin,
  usersAdmin,
} from './admin/account-admin.js'
import {
  type AuditSearch,
  auditSearch,
  type ConsoleAdmin,
  consoleAdmin,
  type DeliveriesAdmin,
  deliveriesAdmin,
  type MessagePreview,
  messagePreview,
  type StatsAdmin,
  statsAdmin,
  type UserSearch,
  userSearch,
} from './admin/admin-insights.js'
import {
  type ApiKeysAdmin,
  apiKeysAdmin,
  authenticateKey,
  type KeyIdentity,
  recordKeyUse,
} from './admin/api-keys-admin.js'
import { type ConsoleSessions, consoleSessions, type SessionLimits } from './admin/console-sessions.js'
import { keepVerdict } from './admin/login-stats.js'
import { checkSecret, keyringOf, rotateSecret, type SecretCheck } from './admin/secret-keyring.js'
import { ensureAccount, ensureSystem } from './admin/setup-in-code.js'
import { type AuditVerdict, auditSealer, verifyAuditChain } from './audit/audit-chain.js'
import {
  type CheckpointStore,
  checkAgainstCheckpoint,
  checkpointSigner,
  checkpointWriter,
} from './audit/audit-checkpoints.js'
import { NotFoundError, ValidationError } from './domain/errors.js'
import type { EngineEvents } from './domain/events.js'
import { refuseControlCharacters } from './domain/login-input.js'
import type { Account, CheckResult, StartResult, System } from './domain/model.js'
import { newId } from './domain/secrets.js'
import { type CheckInput, type CheckOptions, checkLogin } from './login/check.js'
import { decoys } from './login/decoys.js'
import {
  type ConfirmOptions,
  type ConfirmResult,
  confirmLink,
  inspectLink,
  type LinkView,
} from './login/links.js'
import { loginThrottle, resolveThrottle, type ThrottleInput } from './login/login-throttle.js'
import { type RedeemResult, redeemCompletion } from './login/same-device.js'
import {
  type SimulateResult,
  type StartInput,
  type StartOptions,
  simulateLogin,
  startLogin,
} from './login/start.js'
import { outcomeQueue } from './outbox/delivery-outcomes.js'
import { cancelDue, DEFAULT_OUTBOX, deliverDue, type OutboxSettings, payloadCipher } from './outbox/outbox.js'
import {
  type AccountSettings,
  type AccountSettingsInput,
  DEFAULT_SETTINGS,
  resolveSettings,
} from './policy/account-settings.js'
import {
  ceilingsApplier,
  type OperatorCeilings,
  refuseLooserSettings,
  resolveCeilings,
} from './policy/operator-ceilings.js'
import type { Predicate } from './policy/rules.js'
import { type BackgroundSettings, type BackgroundWork, startBackgroundWork } from './ports/background-work.js'
import { type Clock, systemClock } from './ports/clock.js'
import { type EngineContext, emit, type Logger } from './ports/engine-context.js'
import type { Notifier } from './ports/notifier.js'
import { argon2PinHasher, type PinHasher } from './ports/pin-hasher.js'
import { oneTimePinHasher, type PinHashing, pepperedPinHasher } from './ports/pin-hashing.js'
import type { AuditDraft, AuditEvent, AuditQuery, Storage } from './ports/storage.js'

export interface EngineOptions {
  readonly storage: Storage
  readonly notifier: Notifier
  /** At least 32 characters; keys the audit chain. Keep it out of source control. */
  readonly secret: string
  /**
   * Secrets this one replaced, newest first (S33): they still open outbox payloads and verify audit
   * events sealed before the rotation; `secret` seals everything new. See docs/operations.md.
   */
  readonly previousSecrets?: readonly string[]
  /** Where links point: `${baseUrl}/v1/links/${token}`, or your own `url(token)`. Never from a request (S13). */
  readonly links: { readonly baseUrl: string; readonly url?: (token: string) => string }
  readonly clock?: Clock
  /** The slow hash (default argon2id, OWASP's first row): memorized PINs, and one-time PINs under `pinHashing: 'argon2id'`. */
  readonly hasher?: PinHasher
  /**
   * How one-time PINs are hashed at rest (S8): `hmac` (default), an HMAC-SHA-256 under a key derived from
   * the secret, salted per challenge; `argon2id`, with `hasher`. Either way a stored PIN needs the secret
   * or (argon2id) a slow search to test. Hashes made either way verify.
   */
  readonly pinHashing?: PinHashing
  readonly logger?: Logger
  /** How the outbox retries (defaults in `DEFAULT_OUTBOX`). */
  readonly outbox?: Partial<OutboxSettings>
  /** Custom conditions for rules (`when: { custom: ['name'] }`), by name. */
  readonly policy?: { readonly predicates?: Readonly<Record<string, Predicate>> }
  /**
   * How fast `start` and `check` may be called per API key, per account and per login (S19, S31;
   * defaults in `DEFAULT_THROTTLE`), and how many refusals a minute are audited one by one. `false`
   * turns the limits off.
   */
  readonly throttle?: ThrottleInput
  /**
   * The operator's bounds on every account's settings (S18, S34): accounts may only tighten them. A
   * looser setting is refused naming the ceiling; one stored before the ceiling applies as the ceiling.
   */
  readonly ceilings?: OperatorCeilings
  /**
   * Where signed audit checkpoints go, outside the database (S34). With it, the engine writes an account's
   * checkpoint after every admin change and on `writeCheckpoints()` (a server calls it every minute), and
   * `audit.verify()` reports a trail that ends before the latest checkpoint.
   */
  readonly checkpoints?: CheckpointStore
  /**
   * S35: days an ended challenge (and its deliveries) is kept after it expired; `runDue` deletes older
   * ones. Default 30. The audit trail keeps its events either way; rules on known devices and the last
   * success see this far back.
   */
  readonly retention?: { readonly endedChallengesDays?: number }
  /**
   * The engine's periodic work on timers of its own (unref'd, stopped by `close()`): `deliverDue`
   * every second, `runDue` every 30 seconds. On by default with the system clock; off by default with
   * an injected `clock` (a test drives time and calls `runDue` itself). `false` turns it off.
   */
  readonly background?: boolean | BackgroundSettings
}

/** An audit filter's text: what a column could hold, and no control character (S30). */
function textFilter(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 256)
    throw new ValidationError(field, 'must be a string of at most 256 characters')
  return refuseControlCharacters(value, field)
}

/** Filters of `audit.list`; times are Dates, `after` is the `next` cursor of the previous page. */
export interface AuditFilters {
  readonly since?: Date
  readonly until?: Date
  readonly system?: string
  readonly authid?: string
  readonly type?: string
  readonly outcome?: string
  readonly after?: number
  readonly limit?: number
}

/** Everything a host or an administrator does within one account. */
export interface AccountHandle {
  readonly id: string
  readonly systems: SystemsAdmin & {
    /**
     * Create-or-update for apps that configure in code: creates the system, or changes the fields
     * `input` gives where they differ (nothing is written, or audited, when none does).
     */
    ensure(input: SystemInput): Promise<System>
  }
  readonly users: UsersAdmin & UserSearch
  readonly apiKeys: ApiKeysAdmin
  /** The outbox, its waiting and abandoned messages (needs the storage's admin query store). */
  readonly deliveries: DeliveriesAdmin
  /** Login statistics and the overview (needs the storage's admin query store). */
  readonly stats: StatsAdmin
  /** Who may sign in to the administration console, with which role. */
  readonly console: ConsoleAdmin
  readonly settings: MessagePreview & {
    get(): Promise<AccountSettings>
    /** Merges over the current settings; audited. */
    update(input: AccountSettingsInput): Promise<AccountSettings>
  }
  /** Starts a login: sends a link or a PIN. Expected refusals are results, never exceptions. */
  start(input: StartInput, options?: StartOptions): Promise<StartResult>
  /** Polls a login, or submits its PIN. Answers `authenticated` once per challenge. */
  check(input: CheckInput, options?: CheckOptions): Promise<CheckResult>
  /** The decision a `start` would take for this request, with its explanation. Changes nothing. */
  simulate(input: StartInput): Promise<SimulateResult>
  /** Same device: spends a completion code issued by one of this account's logins (`links.redeem`). */
  redeem(code: string): Promise<RedeemResult>
  readonly audit: AuditSearch & {
    /** Events in order, filtered; `next` is the cursor for the following page, or null at the end. */
    list(filters?: AuditFilters): Promise<{ events: AuditEvent[]; next: number | null }>
    /** Deletes events older than `before`, keeping the rest verifiable from an anchor; audited. */
    purge(options: { readonly before: Date }): Promise<{ purged: number }>
    /** Verifies this account's chain with the engine's secret. */
    verify(): Promise<AuditVerdict>
  }
}

export interface Engine {
  /**
   * Creates or upgrades the database schema, then `checkSecret`: throws `SecretMismatchError` when the
   * database was made with a secret outside this engine's keyring (S33).
   */
  migrate(): Promise<void>
  /**
   * Compares the secret with the database's fingerprint (S33): stores it on the first start, completes a
   * rotation on the first start after one, throws `SecretMismatchError` on a secret the database never had.
   */
  checkSecret(): Promise<SecretCheck>
  /**
   * Makes `secret` the database's secret: records its fingerprint, re-seals waiting outbox payloads under it,
   * and audits `engine.secret.rotated` in every account. Null when another process rotated first.
   */
  rotateSecret(): Promise<{ resealed: number; accounts: number } | null>
  /** Writes a signed checkpoint of every account whose audit head moved (S34); 0 without `checkpoints`. */
  writeCheckpoints(): Promise<number>
  readonly accounts: {
    create(input: { readonly name: string; readonly settings?: AccountSettingsInput }): Promise<Account>
    /**
     * Get-or-create by name, for apps that configure in code: the first account with this name, or a
     * new one. Given `settings` are applied where they differ from the stored ones.
     */
    ensure(input: { readonly name: string; readonly settings?: AccountSettingsInput }): Promise<Account>
    get(id: string): Promise<Account | null>
    list(): Promise<Account[]>
    /**
     * The account, scopes and key id an API key speaks for, or null for an unknown, revoked or expired
     * key. Records the use unless `recordUse: false`; then call `recordKeyUse` once the request is accepted.
     */
    authenticateKey(key: string, options?: { readonly recordUse?: boolean }): Promise<KeyIdentity | null>
    recordKeyUse(identity: KeyIdentity): Promise<void>
  }
  /**
   * A handle scoped to one account. Cheap; no I/O until used. `actor` names who acts in the audit
   * trail (an API key's id, an administrator); by default `admin` for admin calls and `api` for logins.
   */
  account(id: string, options?: { readonly actor?: string }): AccountHandle
  /** The administration console's sessions; throws when the storage has no console session store. */
  consoleSessions(limits?: Partial<SessionLimits>): ConsoleSessions
  /** What a link's confirm page needs (`inspect`, changes nothing) and its one-time consumption (`confirm`). */
  readonly links: {
    inspect(token: string): Promise<LinkView>
    /** With number matching (S12), `matchCode` is the code the host showed; otherwise it is ignored. */
    confirm(token: string, options?: ConfirmOptions): Promise<ConfirmResult>
    /**
     * Same device: spends a completion code (from the return URL's `code`) once, within 60 seconds,
     * for the login's account, system, authid and challenge. Any account's code; over HTTP, and with
     * `account(id).redeem`, only that account's.
     */
    redeem(code: string): Promise<RedeemResult>
  }
  /**
   * Periodic work: expires live challenges whose time has passed, forgets ended send-limit windows, and
   * purges audit events past each account's retention. A server calls it on a timer; tests with a clock.
   */
  runDue(): Promise<{
    expired: number
    cancelled: number
    delivered: number
    auditPurged: number
    /** Ended challenges deleted past their retention (S35). */
    challengesPurged: number
  }>
  /**
   * Sends the outbox's due deliveries (retries, and claims a dead process left behind) and cancels
   * those of challenges that ended. `runDue` does this too; a server may call it more often.
   */
  deliverDue(): Promise<{ cancelled: number; delivered: number }>
  readonly events: EventEmitter<EngineEvents>
  close(): Promise<void>
}

const SWEEP_BATCH = 500
/** Batches of ended challenges one `runDue` deletes at most; a backlog goes over several runs. */
const PURGE_BATCHES_PER_RUN = 20
const DAY = 86_400_000

const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(`[flexsecure] ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`[flexsecure] ${message}`, fields ?? ''),
}

/**
 * Creates an engine over a storage and a notifier.
 *
 * ```ts
 * const engine = createEngine({ storage: sqliteStorage({ filename: 'data/flexsecure.db' }), notifier,
 *   secret: process.env.FLEXSECURE_SECRET!, links: { baseUrl: 'https://auth.example.com' } })
 * await engine.migrate()
 * const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  const keyring = keyringOf(options.secret, options.previousSecrets ?? [])
  const baseUrl = parseBaseUrl(options.links?.baseUrl)
  const slowHasher = options.hasher ?? argon2PinHasher()
  const ceilings = resolveCeilings(options.ceilings)
  const effective = ceilingsApplier(ceilings)
  /** Merges `input` over `base`, refusing what the operator does not allow, storing values within the ceilings. */
  const settle = (input: AccountSettingsInput | undefined, base: AccountSettings) => {
    refuseLooserSettings(input, ceilings)
    return effective(resolveSettings(input, base))
  }
  const logger = options.logger ?? consoleLogger
  const ctx: EngineContext = {
    storage: options.storage,
    outcomes: outcomeQueue(options.storage, logger),
    notifier: options.notifier,
    hasher: oneTimePinHasher(keyring, options.pinHashing ?? 'hmac', slowHasher),
    memorizedPins: pepperedPinHasher(keyring, slowHasher),
    clock: options.clock ?? systemClock,
    events: new EventEmitter<EngineEvents>(),
    logger,
    linkUrl: options.links.url ?? ((token) => `${baseUrl}/v1/links/${token}`),
    keyedDigest: keyedDigest(options.secret),
    outbox: resolveOutbox(options.outbox),
    payloads: payloadCipher(keyring),
    predicates: { ...options.policy?.predicates },
    predicateNames: new Set(Object.keys(options.policy?.predicates ?? {})),
    throttle: loginThrottle(resolveThrottle(options.throttle)),
    decoys: decoys(options.secret),
    effective,
    keyring,
  }
  const { storage, clock } = ctx
  const secret = options.secret
  const retentionDays = options.retention?.endedChallengesDays ?? 30
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 36_500)
    throw new ValidationError('retention.endedChallengesDays', 'must be a whole number of days from 1')
  const background = options.background ?? options.clock === undefined
  storage.sealAuditWith(auditSealer(secret))
  const checkpoints = options.checkpoints ?? null
  const signer = checkpointSigner(keyring)
  const writeCheckpoint = checkpoints
    ? checkpointWriter(storage, checkpoints, signer, () => clock.now())
    : async () => false
  /** After an admin change: the account's checkpoint, so a tail deleted later shows (S34). */
  const afterAdmin = async (accountId: string) => {
    try {
      await writeCheckpoint(accountId)
    } catch (error) {
      ctx.logger.error('an audit checkpoint could not be written', { accountId, error: String(error) })
    }
  }
  const checkpointed = <T extends object>(target: T, accountId: string): T => {
    if (!checkpoints) return target
    const wrapped: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(target))
      wrapped[name] =
        typeof value === 'function'
          ? async (...args: unknown[]) => {
              const result = await value(...args)
              await afterAdmin(accountId)
              return result
            }
          : value
    return wrapped as T
  }

  const account = (id: string, handleOptions: { readonly actor?: string } = {}): AccountHandle => {
    const actor = handleOptions.actor ?? 'admin'
    let known: Promise<void> | undefined
    // Admin writes check once that the account exists, so they fail with NotFoundError, not a storage error.
    const ready = () => {
      known ??= storage.accounts.getAccount(id).then((row) => {
        if (!row) {
          known = undefined
          throw new NotFoundError('account', id)
        }
      })
      return known
    }
    const audit = (type: string, fields: Parameters<typeof adminAudit>[4]) =>
      adminAudit(id, actor, clock.now(), type, fields)
    const settings = async () => {
      const row = await storage.accounts.getAccount(id)
      if (!row) throw new NotFoundError('account', id)
      return effective(row.settings)
    }
    const systemsBase = checkpointed(systemsAdmin(ctx, id, actor, ready), id)
    const systems = { ...systemsBase, ensure: (input: SystemInput) => ensureSystem(ctx, systemsBase, input) }
    const users = checkpointed({ ...usersAdmin(ctx, id, actor, ready), ...userSearch(ctx, id) }, id)
    return {
      id,
      systems,
      users,
      apiKeys: checkpointed(apiKeysAdmin(ctx, id, ready, audit), id),
      deliveries: deliveriesAdmin(ctx, id, actor),
      stats: statsAdmin(ctx, id),
      console: consoleAdmin({ systems, users }),
      settings: {
        ...messagePreview(ctx, id, systems),
        get: settings,
        async update(input) {
          // Merged with the stored settings inside the write, so two updates of different fields both stay.
          const next = await storage.accounts.updateAccountSettings(
            id,
            (current) => settle(input, current),
            (changed) => [audit('account.settings.updated', { details: { settings: changed } })],
          )
          if (!next) throw new NotFoundError('account', id)
          await afterAdmin(id)
          return effective(next)
        },
      },
      start: (input, startOptions = {}) =>
        startLogin(ctx, id, input, startOptions, startOptions.apiKeyId ?? handleOptions.actor ?? 'api'),
      check: (input, checkOptions = {}) =>
        checkLogin(ctx, id, input, checkOptions.apiKeyId ?? handleOptions.actor ?? 'api'),
      simulate: (input) => simulateLogin(ctx, id, input),
      redeem: (code) => redeemCompletion(ctx, code, id, handleOptions.actor ?? 'api'),
      audit: {
        ...auditSearch(ctx, id),
        async list(filters = {}) {
          // Read your writes: delivery outcomes still queued behind their sends are written first.
          await ctx.outcomes.flush()
          const limit = filters.limit ?? 100
          if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
            throw new ValidationError('limit', 'must be a whole number from 1 to 1000')
          if (filters.after !== undefined && (!Number.isSafeInteger(filters.after) || filters.after < 0))
            throw new ValidationError('after', 'must be a sequence number')
          const query: AuditQuery = {
            accountId: id,
            limit,
            ...(filters.after !== undefined ? { after: filters.after } : {}),
            ...(filters.since !== undefined ? { since: optionalDate(filters.since, 'since') } : {}),
            ...(filters.until !== undefined ? { until: optionalDate(filters.until, 'until') } : {}),
            ...(filters.system !== undefined ? { system: textFilter(filters.system, 'system') } : {}),
            ...(filters.authid !== undefined ? { authid: textFilter(filters.authid, 'authid') } : {}),
            ...(filters.type !== undefined ? { type: textFilter(filters.type, 'type') } : {}),
            ...(filters.outcome !== undefined ? { outcome: textFilter(filters.outcome, 'outcome') } : {}),
          }
          const events = await storage.audit.listAudit(query)
          return { events, next: events.length === limit ? (events.at(-1)?.seq ?? null) : null }
        },
        async purge({ before }) {
          if (!(before instanceof Date) || Number.isNaN(before.getTime()))
            throw new ValidationError('before', 'must be a date')
          const minDays = ceilings.auditRetentionDays
          if (minDays !== undefined && before.getTime() > clock.now() - minDays * DAY)
            throw new ValidationError(
              'before',
              `must be at least ${minDays} days ago: the operator's minimum audit retention (ceilings.auditRetentionDays)`,
            )
          const purged = await storage.audit.purgeAudit(id, before.getTime(), [
            audit('audit.purged', { details: { before: before.getTime() } }),
          ])
          await afterAdmin(id)
          return { purged }
        },
        verify: () =>
          keepVerdict(
            ctx,
            id,
            verifyAuditChain(storage, keyring, id).then(async (verdict) =>
              checkAgainstCheckpoint(storage, verdict, (await checkpoints?.latest(id)) ?? null, signer),
            ),
          ),
      },
    }
  }

  // The background work waits for a migration under way, so its first beat never meets a missing table.
  let migrating: Promise<void> | null = null
  const engine: Engine = {
    migrate: () => {
      migrating = (async () => {
        await storage.migrate()
        await checkSecret(storage, keyring, clock)
      })()
      return migrating
    },
    checkSecret: () => checkSecret(storage, keyring, clock),
    rotateSecret: () => rotateSecret(storage, keyring, clock),
    async writeCheckpoints() {
      let written = 0
      for (const row of await storage.accounts.listAccounts()) if (await writeCheckpoint(row.id)) written += 1
      return written
    },
    accounts: {
      ensure: (input) => ensureAccount(engine, input),
      async create(input) {
        const name = typeof input?.name === 'string' ? input.name.normalize('NFKC').trim() : ''
        if (name.length === 0 || name.length > 200)
          throw new ValidationError('name', 'must be 1 to 200 characters')
        const row = {
          id: newId(),
          name,
          settings: settle(input.settings, DEFAULT_SETTINGS),
          createdAt: clock.now(),
        }
        await storage.accounts.insertAccount(row)
        return { id: row.id, name: row.name, createdAt: new Date(row.createdAt) }
      },
      async get(id) {
        const row = await storage.accounts.getAccount(id)
        return row ? { id: row.id, name: row.name, createdAt: new Date(row.createdAt) } : null
      },
      async list() {
        return (await storage.accounts.listAccounts()).map((row) => ({
          id: row.id,
          name: row.name,
          createdAt: new Date(row.createdAt),
        }))
      },
      authenticateKey: (key, keyOptions) => authenticateKey(ctx, key, keyOptions),
      recordKeyUse: (identity) => recordKeyUse(ctx, identity),
    },
    account,
    consoleSessions: (limits) => consoleSessions(ctx, limits),
    links: {
      inspect: (token) => inspectLink(ctx, token),
      confirm: (token, confirmOptions) => confirmLink(ctx, token, confirmOptions),
      redeem: (code) => redeemCompletion(ctx, code, null, 'api'),
    },
    async runDue() {
      let expired = 0
      for (;;) {
        const at = clock.now()
        const rows = await storage.logins.expireDue(at, SWEEP_BATCH, (row) => ({
          accountId: row.accountId,
          at,
          type: 'challenge.expired',
          actor: 'system',
          system: row.systemName,
          authid: row.authid,
          challengeId: row.id,
          outcome: 'expired',
          reason: null,
          ip: null,
          userAgent: null,
          details: null,
        }))
        for (const row of rows)
          emit(ctx, 'challenge.expired', {
            accountId: row.accountId,
            challengeId: row.id,
            system: row.systemName,
            authid: row.authid,
            method: row.method,
            at: new Date(at),
          })
        expired += rows.length
        if (rows.length < SWEEP_BATCH) break
      }
      const { cancelled, delivered } = await engine.deliverDue()
      const now = clock.now()
      await appendSummaries(ctx, now)
      await storage.logins.sweepRateLimits(now)
      let auditPurged = 0
      for (const row of await storage.accounts.listAccounts()) {
        const days = effective(row.settings).auditRetentionDays
        if (days === null) continue
        const before = now - days * DAY
        auditPurged += await storage.audit.purgeAudit(row.id, before, [
          adminAudit(row.id, 'system', now, 'audit.purged', { details: { before, retentionDays: days } }),
        ])
      }
      // S35: ended challenges and their deliveries go after the retention period, in bounded batches.
      let challengesPurged = 0
      for (let batch = 0; batch < PURGE_BATCHES_PER_RUN; batch++) {
        const purged = await storage.logins.purgeEndedChallenges(now - retentionDays * DAY, SWEEP_BATCH)
        challengesPurged += purged
        if (purged < SWEEP_BATCH) break
      }
      // Completion codes live 60 seconds; a spent or expired one is only clutter.
      await storage.completionCodes?.sweep(now)
      return { expired, cancelled, delivered, auditPurged, challengesPurged }
    },
    async deliverDue() {
      // Outcomes queued behind earlier sends first, then cancel, so nothing is sent for a challenge that
      // ended since its last attempt; this run's own outcomes are written before it returns.
      await ctx.outcomes.flush()
      const cancelled = await cancelDue(ctx)
      const delivered = await deliverDue(ctx)
      await ctx.outcomes.flush()
      return { cancelled, delivered }
    },
    events: ctx.events,
    async close() {
      await work?.stop()
      // The counted refusals of the minutes still open are written, not lost with the process (S31).
      await appendSummaries(ctx, clock.now(), true).catch((error) =>
        ctx.logger.error('could not write the refusal summaries', { error: String(error) }),
      )
      await ctx.outcomes.flush()
      await storage.close()
    },
  }
  const afterMigration = () => (migrating ?? Promise.resolve()).catch(() => {})
  const work: BackgroundWork | null = background
    ? startBackgroundWork(
        {
          deliverDue: () => afterMigration().then(() => engine.deliverDue()),
          runDue: () => afterMigration().then(() => engine.runDue()),
        },
        background === true ? {} : background,
        ctx.logger,
      )
    : null
  return engine
}

/** Writes the refusal summaries of the windows that ended (S31), one append per account. */
async function appendSummaries(ctx: EngineContext, now: number, all = false): Promise<void> {
  const byAccount = new Map<string, AuditDraft[]>()
  for (const draft of ctx.throttle.drain(now, all))
    byAccount.set(draft.accountId, [...(byAccount.get(draft.accountId) ?? []), draft])
  for (const drafts of byAccount.values()) await ctx.storage.audit.appendAudit(drafts)
}

function resolveOutbox(input: Partial<OutboxSettings> | undefined): OutboxSettings {
  const outbox = { ...DEFAULT_OUTBOX, ...input }
  for (const [key, value] of Object.entries(outbox))
    if (!Number.isInteger(value) || value < (key === 'maxAttempts' ? 1 : 0))
      throw new ValidationError(`outbox.${key}`, 'must be a whole number')
  if (outbox.retryWindowPercent > 100)
    throw new ValidationError('outbox.retryWindowPercent', 'must be a whole number from 0 to 100')
  return outbox
}

function keyedDigest(secret: string): (value: string) => string {
  const key = Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'destination-digest-v1', 32))
  return (value) => createHmac('sha256', key).update(value).digest('hex')
}

function optionalDate(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new ValidationError(field, 'must be a valid date')
  return value.getTime()
}

function parseBaseUrl(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('links.baseUrl', 'must be a URL')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ValidationError('links.baseUrl', 'must be an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValidationError('links.baseUrl', 'must be an http(s) URL')
  return url.href.replace(/\/+$/, '')
}

import { EventEmitter } from 'eventemitter3'
import { type AccountHandle, accountHandle } from './admin/account-handle.js'
import { accountsAdmin } from './admin/accounts-admin.js'
import { adminCheckpoints } from './admin/admin-checkpoints.js'
import { authenticateKey, type KeyIdentity, recordKeyUse } from './admin/api-keys-admin.js'
import { type BackgroundSettings, type BackgroundWork, startBackgroundWork } from './admin/background-work.js'
import { type ConsoleSessions, consoleSessions, type SessionLimits } from './admin/console-sessions.js'
import {
  appendSummaries,
  type DueWorkDone,
  deliverDueWork,
  resolveRetentionDays,
  runDueWork,
} from './admin/due-work.js'
import {
  checkSecret,
  type Keyring,
  keyringOf,
  rotateSecret,
  type SecretCheck,
} from './admin/secret-keyring.js'
import { ensureAccount } from './admin/setup-in-code.js'
import { auditSealer } from './audit/audit-chain.js'
import type { CheckpointStore } from './audit/audit-checkpoints.js'
import { LATE, settledWithin } from './domain/deadline.js'
import { ValidationError } from './domain/errors.js'
import type { EngineEvents } from './domain/events.js'
import type { Account } from './domain/model.js'
import { keyedDigest } from './domain/secrets.js'
import { decoys } from './login/decoys.js'
import {
  type ConfirmOptions,
  type ConfirmResult,
  confirmLink,
  inspectLink,
  type LinkView,
  parseBaseUrl,
} from './login/links.js'
import { loginThrottle, resolveThrottle, type ThrottleInput } from './login/login-throttle.js'
import { type RedeemResult, redeemCompletion } from './login/same-device.js'
import { outcomeQueue } from './outbox/delivery-outcomes.js'
import { type OutboxSettings, payloadCipher, resolveOutbox } from './outbox/outbox.js'
import type { AccountSettingsInput } from './policy/account-settings.js'
import {
  ceilingsApplier,
  type OperatorCeilings,
  resolveCeilings,
  settingsSettler,
} from './policy/operator-ceilings.js'
import type { Predicate } from './policy/rules.js'
import { type Clock, systemClock } from './ports/clock.js'
import type { EngineContext, Logger } from './ports/engine-context.js'
import type { Notifier } from './ports/notifier.js'
import { argon2PinHasher, type PinHasher } from './ports/pin-hasher.js'
import { oneTimePinHasher, type PinHashing, pepperedPinHasher } from './ports/pin-hashing.js'
import type { Storage } from './ports/storage.js'

// The engine wires the layers: it builds the context every part shares from the options, and hands
// each call to the part that does it. What the calls do lives in login/, admin/, outbox/ and audit/.

export type { AuditFilters } from './admin/account-audit.js'
export type { AccountHandle } from './admin/account-handle.js'

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
  runDue(): Promise<DueWorkDone>
  /**
   * Sends the outbox's due deliveries (retries, and claims a dead process left behind) and cancels
   * those of challenges that ended. `runDue` does this too; a server may call it more often.
   */
  deliverDue(): Promise<{ cancelled: number; delivered: number }>
  readonly events: EventEmitter<EngineEvents>
  close(): Promise<void>
}

const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(`[flexsecure] ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`[flexsecure] ${message}`, fields ?? ''),
}

/** The context every part of one engine shares, built from its options. */
function contextOf(options: EngineOptions, keyring: Keyring, ceilings: OperatorCeilings): EngineContext {
  const baseUrl = parseBaseUrl(options.links?.baseUrl)
  const slowHasher = options.hasher ?? argon2PinHasher()
  const logger = options.logger ?? consoleLogger
  const outbox = resolveOutbox(options.outbox)
  return {
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
    outbox,
    payloads: payloadCipher(keyring),
    predicates: { ...options.policy?.predicates },
    predicateNames: new Set(Object.keys(options.policy?.predicates ?? {})),
    throttle: loginThrottle(resolveThrottle(options.throttle)),
    decoys: decoys(options.secret),
    effective: ceilingsApplier(ceilings),
    keyring,
  }
}

/** A missing storage or notifier (plain JavaScript has no types to say so) is named at once, not at first use. */
function requireParts(options: EngineOptions): void {
  const has = (part: unknown, method: string) =>
    typeof part === 'object' &&
    part !== null &&
    typeof (part as Record<string, unknown>)[method] === 'function'
  if (!has(options?.storage, 'migrate') || !has(options.storage, 'sealAuditWith'))
    throw new ValidationError(
      'storage',
      "must be a Storage, such as sqliteStorage({ filename: 'data/flexsecure.db' }) from @flexsecure/sqlite",
    )
  if (!has(options.notifier, 'send'))
    throw new ValidationError(
      'notifier',
      'must be a Notifier, an object with send(message) (docs/adapters.md); captureNotifier() from @flexsecure/core/testing keeps messages in memory',
    )
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
  requireParts(options)
  const keyring = keyringOf(options.secret, options.previousSecrets ?? [])
  const ceilings = resolveCeilings(options.ceilings)
  const ctx = contextOf(options, keyring, ceilings)
  const { storage, clock } = ctx
  const retentionDays = resolveRetentionDays(options.retention)
  const background = options.background ?? options.clock === undefined
  storage.sealAuditWith(auditSealer(options.secret))
  const checkpoints = adminCheckpoints(ctx, options.checkpoints ?? null)
  const parts = {
    settle: settingsSettler(ceilings),
    checkpoints,
    minAuditRetentionDays: ceilings.auditRetentionDays,
  }
  const accounts = accountsAdmin(ctx, parts.settle)

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
    writeCheckpoints: () => checkpoints.writeAll(),
    accounts: {
      ...accounts,
      ensure: (input) => ensureAccount(engine, input),
      authenticateKey: (key, keyOptions) => authenticateKey(ctx, key, keyOptions),
      recordKeyUse: (identity) => recordKeyUse(ctx, identity),
    },
    account: (id, handleOptions = {}) => accountHandle(ctx, id, handleOptions.actor, parts),
    consoleSessions: (limits) => consoleSessions(ctx, limits),
    links: {
      inspect: (token) => inspectLink(ctx, token),
      confirm: (token, confirmOptions) => confirmLink(ctx, token, confirmOptions),
      redeem: (code) => redeemCompletion(ctx, code, null, 'api'),
    },
    runDue: () => runDueWork(ctx, retentionDays),
    deliverDue: () => deliverDueWork(ctx),
    events: ctx.events,
    async close() {
      // The background run under way and the sends still running (a start in uniform mode answers before
      // its send ends) finish and queue their outcomes, within closeWaitMs: a provider that never answers
      // must not hold the close. What is left keeps its claim, and goes again once the claim lapses.
      const ended = await settledWithin(
        Promise.allSettled([work?.stop(), ctx.outcomes.sendsEnded()]),
        ctx.outbox.closeWaitMs,
      )
      if (ended === LATE)
        ctx.logger.warn('closing with sends still under way; each goes again once its claim lapses')
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

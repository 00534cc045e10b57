import { EventEmitter } from 'eventemitter3'
import { type SystemsAdmin, systemsAdmin, type UsersAdmin, usersAdmin } from './account-admin.js'
import { type Clock, systemClock } from './clock.js'
import { type EngineContext, emit, type Logger } from './engine-context.js'
import { NotFoundError, ValidationError } from './errors.js'
import type { EngineEvents } from './events.js'
import { type ConfirmResult, confirmLink, inspectLink, type LinkView } from './links.js'
import { type CheckInput, checkLogin, type StartInput, startLogin } from './login.js'
import type { Account, CheckResult, StartResult } from './model.js'
import type { Notifier } from './notifier.js'
import { argon2PinHasher, type PinHasher } from './pin-hasher.js'
import { newId } from './secrets.js'
import type { AuditEvent, Storage } from './storage.js'

export interface EngineOptions {
  readonly storage: Storage
  readonly notifier: Notifier
  /** At least 32 characters; keys the audit chain. Keep it out of source control. */
  readonly secret: string
  /** Where links point: `${baseUrl}/v1/links/${token}`, or your own `url(token)`. Never from a request (S13). */
  readonly links: { readonly baseUrl: string; readonly url?: (token: string) => string }
  readonly clock?: Clock
  readonly hasher?: PinHasher
  readonly logger?: Logger
}

/** Everything a host or an administrator does within one account. */
export interface AccountHandle {
  readonly id: string
  readonly systems: SystemsAdmin
  readonly users: UsersAdmin
  /** Starts a login: sends a link or a PIN. Expected refusals are results, never exceptions. */
  start(input: StartInput): Promise<StartResult>
  /** Polls a login, or submits its PIN. Answers `authenticated` once per challenge. */
  check(input: CheckInput): Promise<CheckResult>
  readonly audit: {
    /** Audit events in order; pass the last `seq` as `after` for the next page. */
    list(options?: { readonly after?: number; readonly limit?: number }): Promise<AuditEvent[]>
  }
}

export interface Engine {
  /** Creates or upgrades the database schema. */
  migrate(): Promise<void>
  readonly accounts: {
    create(input: { readonly name: string }): Promise<Account>
    get(id: string): Promise<Account | null>
  }
  /** A handle scoped to one account. Cheap; no I/O until used. */
  account(id: string): AccountHandle
  /** What a link's confirm page needs (`inspect`, changes nothing) and its one-time consumption (`confirm`). */
  readonly links: {
    inspect(token: string): Promise<LinkView>
    confirm(token: string): Promise<ConfirmResult>
  }
  /** Expires live challenges whose time has passed. A server calls it on a timer; tests with a clock. */
  runDue(): Promise<{ expired: number }>
  readonly events: EventEmitter<EngineEvents>
  close(): Promise<void>
}

const SWEEP_BATCH = 500

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
  if (typeof options.secret !== 'string' || options.secret.length < 32)
    throw new ValidationError('secret', 'must be a string of at least 32 characters')
  const baseUrl = parseBaseUrl(options.links?.baseUrl)
  const ctx: EngineContext = {
    storage: options.storage,
    notifier: options.notifier,
    hasher: options.hasher ?? argon2PinHasher(),
    clock: options.clock ?? systemClock,
    events: new EventEmitter<EngineEvents>(),
    logger: options.logger ?? consoleLogger,
    linkUrl: options.links.url ?? ((token) => `${baseUrl}/v1/links/${token}`),
  }
  const { storage, clock } = ctx

  const account = (id: string): AccountHandle => {
    let known: Promise<void> | undefined
    // Admin writes check once that the account exists, so they fail with NotFoundError, not a storage error.
    const ready = () => {
      known ??= storage.getAccount(id).then((row) => {
        if (!row) {
          known = undefined
          throw new NotFoundError('account', id)
        }
      })
      return known
    }
    return {
      id,
      systems: systemsAdmin(ctx, id, ready),
      users: usersAdmin(ctx, id, ready),
      start: (input) => startLogin(ctx, id, input, 'api'),
      check: (input) => checkLogin(ctx, id, input, 'api'),
      audit: {
        list: ({ after, limit = 100 } = {}) =>
          storage.listAudit({ accountId: id, ...(after !== undefined ? { after } : {}), limit }),
      },
    }
  }

  return {
    migrate: () => storage.migrate(),
    accounts: {
      async create(input) {
        const name = typeof input?.name === 'string' ? input.name.normalize('NFKC').trim() : ''
        if (name.length === 0 || name.length > 200)
          throw new ValidationError('name', 'must be 1 to 200 characters')
        const row = { id: newId(), name, createdAt: clock.now() }
        await storage.insertAccount(row)
        return { id: row.id, name: row.name, createdAt: new Date(row.createdAt) }
      },
      async get(id) {
        const row = await storage.getAccount(id)
        return row ? { id: row.id, name: row.name, createdAt: new Date(row.createdAt) } : null
      },
    },
    account,
    links: {
      inspect: (token) => inspectLink(ctx, token),
      confirm: (token) => confirmLink(ctx, token),
    },
    async runDue() {
      let expired = 0
      for (;;) {
        const at = clock.now()
        const rows = await storage.expireDue(at, SWEEP_BATCH, (row) => ({
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
        if (rows.length < SWEEP_BATCH) return { expired }
      }
    },
    events: ctx.events,
    close: () => storage.close(),
  }
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

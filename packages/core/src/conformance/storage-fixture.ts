import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest'
import { auditSealer } from '../audit/audit-chain.js'
import { newId, sha256Hex } from '../domain/secrets.js'
import { DEFAULT_SETTINGS } from '../policy/account-settings.js'
import { resolvePolicies } from '../policy/system-policy.js'
import type {
  AuditDraft,
  ChallengeRow,
  Storage,
  StorageInspector,
  SystemRow,
  UserRow,
} from '../ports/storage.js'
import type { SharedDatabase } from './login-races.js'

// What every store's conformance cases share: the options, a fresh storage per test seeded as far as
// the store needs, the start of time, audit drafts, and how a case says it needs more than its store.

/** The stores of the Storage port, as `runStorageConformance({ stores })` names them. */
export type StoreName = 'accounts' | 'apiKeys' | 'systems' | 'users' | 'logins' | 'outbox' | 'audit'

export const STORE_NAMES: readonly StoreName[] = [
  'accounts',
  'apiKeys',
  'systems',
  'users',
  'logins',
  'outbox',
  'audit',
]

/** A storage under test, on a fresh, empty database. */
export interface StorageUnderTest {
  readonly storage: Storage
  /** How other processes open this same database; omit when they cannot (`:memory:`). */
  readonly shared?: SharedDatabase
  /** Releases the database (closing the storage is the suite's job). */
  cleanup?(): Promise<void>
}

export interface StorageConformanceOptions {
  /** Names the suite: `sqlite file`, `postgres`. */
  readonly name: string
  /** Opens a storage on a fresh, empty database; called before every test. */
  open(): Promise<StorageUnderTest>
  /**
   * Opens a storage on a database that was never migrated, for a storage with a schema: a write there
   * must say to migrate, not only that a table is missing. Omit for a storage without a schema.
   */
  openUnmigrated?(): Promise<StorageUnderTest>
  /**
   * Why the cross-process races cannot run here (`:memory:` cannot be shared), or omit to run them;
   * then `open()` must return `shared`.
   */
  readonly noSharedDatabase?: string
  /** Runs only these stores' cases (default: all of them); see `runStorageConformance`. */
  readonly stores?: readonly StoreName[]
}

export const T0 = Date.UTC(2026, 0, 1, 9)
export const SECRET = 'conformance-secret-conformance-secret'

/** Inserts a second account, named `name`, and returns its id: for cases that keep accounts apart. */
export async function insertAccount(storage: Storage, name = 'Other'): Promise<string> {
  const id = newId()
  await storage.accounts.insertAccount({ id, name, settings: DEFAULT_SETTINGS, createdAt: T0 })
  return id
}

export const draft = (accountId: string, type: string, fields: Partial<AuditDraft> = {}): AuditDraft => ({
  accountId,
  at: T0,
  type,
  actor: 'test',
  system: null,
  authid: null,
  challengeId: null,
  outcome: 'success',
  reason: null,
  ip: null,
  userAgent: null,
  details: null,
  ...fields,
})

/**
 * How far a store's cases seed before each test, in the order stores depend on each other: an account
 * (through `accounts`), then the `payroll` system (through `systems`), then the user `alice`
 * (through `users`).
 */
export type Seed = 'account' | 'system' | 'user'

/** What a test of one store starts from. Read its fields inside the test: they change before each. */
export interface StorageFixture {
  readonly under: StorageUnderTest
  readonly storage: Storage
  readonly accountId: string
  /** The `payroll` system; seeded by `system` and `user`. */
  readonly system: SystemRow
  /** The user `alice` of the account; seeded by `user`. */
  readonly user: UserRow
  /** Assigns the user to the system. */
  assign(method?: 'passwordless' | 'pin'): Promise<void>
  /** A challenge row for the user and system, not yet stored. */
  challenge(fields?: Partial<ChallengeRow>): ChallengeRow
  /** Assigns the user and issues a challenge as its current one. */
  issued(fields?: Partial<ChallengeRow>): Promise<ChallengeRow>
}

const systemRow = (accountId: string): SystemRow => ({
  id: newId(),
  accountId,
  name: 'payroll',
  policies: resolvePolicies({ passwordless: { enabled: true }, pin: { enabled: true } }),
  returnUrl: null,
  messages: null,
  sensitivity: 'high',
  rules: {
    version: 1,
    updatedAt: T0,
    updatedBy: 'admin',
    rules: [{ name: 'office', when: { ipIn: ['203.0.113.0/24'] }, effect: { numberMatching: true } }],
  },
  createdAt: T0,
  updatedAt: T0,
})

const userRow = (accountId: string): UserRow => ({
  id: newId(),
  accountId,
  authid: 'alice',
  displayName: 'Alice',
  email: 'alice@example.com',
  phone: null,
  locale: null,
  attributes: { department: 'finance', level: 3 },
  memorizedPinHash: null,
  status: 'active',
  failureStreak: 0,
  retryAfter: null,
  createdAt: T0,
  updatedAt: T0,
})

/**
 * Opens a fresh storage before each test of the enclosing `describe` (sealer set, migrated, seeded up
 * to `seed`) and closes it after.
 */
export function freshStorage(options: StorageConformanceOptions, seed: Seed): StorageFixture {
  let opened: { under: StorageUnderTest; accountId: string; system?: SystemRow; user?: UserRow } | null = null
  const current = () => {
    if (!opened) throw new Error('the conformance fixture is read outside a test')
    return opened
  }

  beforeEach(async () => {
    const under = await options.open()
    const storage = under.storage
    storage.sealAuditWith(auditSealer(SECRET))
    await storage.migrate()
    opened = { under, accountId: await insertAccount(storage, 'Acme') }
    if (seed === 'account') return
    opened.system = systemRow(opened.accountId)
    await storage.systems.insertSystem(opened.system, [])
    if (seed === 'system') return
    opened.user = userRow(opened.accountId)
    await storage.users.insertUser(opened.user, [])
  })

  afterEach(async () => {
    const { under } = current()
    opened = null
    await under.storage.close()
    await under.cleanup?.()
  })

  const fixture: StorageFixture = {
    get under() {
      return current().under
    },
    get storage() {
      return current().under.storage
    },
    get accountId() {
      return current().accountId
    },
    get system() {
      const { system } = current()
      if (!system) throw new Error(`these cases seed only ${seed}: no system`)
      return system
    },
    get user() {
      const { user } = current()
      if (!user) throw new Error(`these cases seed only ${seed}: no user`)
      return user
    },
    assign: (method = 'passwordless') =>
      fixture.storage.users.saveAssignments(
        fixture.user.id,
        [{ systemId: fixture.system.id, method, channel: null }],
        [],
      ),
    challenge(fields = {}) {
      const id = newId()
      return {
        id,
        accountId: fixture.accountId,
        systemId: fixture.system.id,
        userId: fixture.user.id,
        systemName: fixture.system.name,
        authid: fixture.user.authid,
        method: 'passwordless',
        channel: 'email',
        status: 'pending',
        linkHash: sha256Hex(id),
        pinHash: null,
        pinLength: null,
        attempts: 0,
        maxAttempts: 5,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        completedAt: null,
        outcomeReported: false,
        context: { ip: '203.0.113.7', trusted: true, score: 3 },
        deliveryId: null,
        delivery: null,
        extraLayer: null,
        matchCode: null,
        device: null,
        ...fields,
      }
    },
    async issued(fields = {}) {
      await fixture.assign(fields.method ?? 'passwordless')
      const row = fixture.challenge(fields)
      expect(await fixture.storage.logins.issueChallenge(row, [], [])).toEqual({ issued: true })
      return row
    },
  }
  return fixture
}

/** Which stores a run checks, and how its cases register. */
export interface StoreSuite {
  readonly options: StorageConformanceOptions
  /** Whether `store`'s cases run: `options.stores` names it, or names nothing. */
  selected(store: StoreName): boolean
  /** Every store is selected (the default). */
  readonly all: boolean
  /** `describe(store, body)` when the store is selected, else skipped with the reason in its name. */
  describeStore(store: StoreName, body: () => void): void
  /**
   * `it` for a case that also reads `stores` to see what its own store wrote (the audit trail a write
   * left, say): run when they are selected too, else skipped with the reason in its name.
   */
  itReading(
    stores: readonly StoreName[],
    name: string,
    body: (context: TestContext) => Promise<void>,
    timeout?: number,
  ): void
}

export function storeSuite(options: StorageConformanceOptions): StoreSuite {
  const chosen = new Set(options.stores ?? STORE_NAMES)
  for (const store of chosen)
    if (!STORE_NAMES.includes(store))
      throw new Error(
        `${options.name}: unknown store '${store}' in stores (known: ${STORE_NAMES.join(', ')})`,
      )
  const selected = (store: StoreName) => chosen.has(store)
  return {
    options,
    selected,
    all: STORE_NAMES.every(selected),
    describeStore(store, body) {
      if (selected(store)) describe(store, body)
      else describe.skip(`${store}: not run, not among options.stores`, body)
    },
    itReading(stores, name, body, timeout) {
      const missing = stores.filter((store) => !selected(store))
      if (missing.length === 0) it(name, body, timeout)
      else it.skip(`${name} (not run: it reads ${missing.join(', ')}, not among options.stores)`, body)
    },
  }
}

/** Cases that read deliveries through `storage.inspector` carry this in their names. */
export const NEEDS_INSPECTOR = '(reads storage.inspector; skipped when the storage has none)'

/** The storage's inspector, or skips the running test (its name says so) when there is none. */
export function inspectorOf(storage: Storage, context: TestContext): StorageInspector {
  if (!storage.inspector) context.skip('the storage has no inspector')
  return storage.inspector
}

import { createEngine, type EngineOptions } from '../engine.js'
import type { Storage } from '../ports/storage.js'
import { captureNotifier } from './capture-notifier.js'
import { cheapHasher } from './cheap-hasher.js'
import { manualClock } from './manual-clock.js'
import type { MemoryRows, MemoryTableName } from './memory-inspection.js'
import { memoryStorage } from './memory-storage.js'

// What core's own tests run against: an engine on the in-memory storage, an injected clock and a
// capturing notifier, with an account (Acme), a system (payroll) and a user (alice). Not exported:
// applications build their own from `memoryStorage`, `manualClock` and `captureNotifier`.

export const TEST_SECRET = 'test-secret-test-secret-test-secret'
export const BASE_URL = 'https://auth.example.com'

/**
 * The fixture. Any engine option but the storage, secret and links may be given (a notifier, a clock,
 * `outbox`, …) and goes to `createEngine` as is; `resendCooldownSeconds` sets Acme's cooldown.
 */
export async function engineFixture(
  options: Partial<Omit<EngineOptions, 'storage' | 'secret' | 'links'>> & {
    resendCooldownSeconds?: number
  } = {},
) {
  const { resendCooldownSeconds, ...engineOptions } = options
  const storage = memoryStorage()
  const clock = manualClock()
  const notifier = captureNotifier()
  const warnings: string[] = []
  /** Every log line in full, to prove no secret is ever logged. */
  const logs: string[] = []
  const log = (message: string, fields?: Record<string, unknown>) => {
    warnings.push(message)
    logs.push(`${message} ${JSON.stringify(fields ?? {})}`)
  }
  const engine = createEngine({
    notifier,
    clock,
    hasher: cheapHasher(),
    logger: { warn: log, error: log },
    ...engineOptions,
    storage,
    secret: TEST_SECRET,
    links: { baseUrl: BASE_URL },
  })
  await engine.migrate()
  // Most tests start again at once to exercise supersession; the resend cooldown has tests of its own.
  const { id } = await engine.accounts.create({
    name: 'Acme',
    settings: { sendLimits: { resendCooldownSeconds: resendCooldownSeconds ?? 0 } },
  })
  const acme = engine.account(id)
  await acme.systems.create({
    name: 'payroll',
    policies: { passwordless: { enabled: true }, pin: { enabled: true } },
  })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com', phone: '+14155552671' })
  return {
    engine,
    acme,
    clock,
    notifier,
    storage,
    warnings,
    logs,
    /** Every row of a table as stored (a copy). */
    rows: <T extends MemoryTableName>(table: T): MemoryRows[T] => storage.inspect()[table],
    /** Rewrites every row of a table behind the engine's back, as tampering with a database would. */
    tamper: storage.tamper,
    /** The same stored rows for another engine, as another process on the database; closing it keeps them. */
    sharedStorage: (): Storage => ({ ...storage, close: async () => {} }),
    close: () => engine.close(),
  }
}

export type EngineFixture = Awaited<ReturnType<typeof engineFixture>>

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createEngine, type Engine, type Notifier, type Storage, type ThrottleInput } from '@flexsecure/core'
import { type CommitStats, createHttpHandler, pathOf } from '@flexsecure/http'
import { mysqlStorage } from '@flexsecure/mysql'
import { postgresStorage } from '@flexsecure/postgres'
import { sqliteStorage } from '@flexsecure/sqlite'
import { checkpointFiles } from './audit-checkpoint-files.js'
import { databaseKind, type ServerConfig } from './config.js'
import { gatedRequests } from './gated-requests.js'
import { closeUnreadBodies } from './unread-bodies.js'

export interface RunningServer {
  readonly url: string
  readonly engine: Engine
  /**
   * Stops accepting, lets in-flight requests finish (cutting what is left after CLOSE_DEADLINE_MS), stops
   * the sweep, closes the database.
   */
  close(): Promise<void>
}

/** A Storage that may also report its pending migrations (every storage this project ships does). */
export type ServerStorage = Storage & {
  migrationStatus?(): Promise<{ readonly pending: readonly string[] }>
  /** Its commits and syncs so far, for the operator's `/metrics` (the SQLite storage has them). */
  commitStats?(): CommitStats
}

/** The storage `database` names: a PostgreSQL or MySQL/MariaDB URL, or a SQLite file. */
export function openStorage(database: string): ServerStorage {
  const kind = databaseKind(database)
  if (kind === 'postgres') return postgresStorage({ connectionString: database })
  if (kind === 'mysql') return mysqlStorage({ uri: database.replace(/^mariadb:/i, 'mysql:') })
  // WAL checkpoints on a worker thread, not in the commits of the event loop (issue 16).
  return sqliteStorage({ filename: database, walCheckpoints: 'worker' })
}

/**
 * Tuning for load tests: the engine's budgets of `start` and `check` (S19, S31), over the configuration's,
 * and the server's turn budget.
 */
export interface ServerHttpOptions {
  readonly throttle?: ThrottleInput
  /** The turn budget in ms (default `TURN_BUDGET_MS` in `turn-budget.ts`, 0.5); `Infinity` gates nothing. */
  readonly turnBudgetMs?: number
  /** How long `close()` waits for connections and requests before it cuts them (default 5,000 ms). */
  readonly closeDeadlineMs?: number
}

/**
 * Listens, opens the engine on the configured database (or on `storage`, a config module's), migrates
 * it, and serves the HTTP API on a Node listener.
 */
export async function startServer(
  config: ServerConfig,
  notifier: Notifier,
  http: ServerHttpOptions = {},
  given?: ServerStorage,
): Promise<RunningServer> {
  const server: Server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => resolve())
  })
  let storage: ServerStorage
  try {
    storage = given ?? openStorage(config.database)
  } catch (error) {
    server.close()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  const throttle = http.throttle ?? config.throttle ?? undefined
  const engine = createEngine({
    storage,
    notifier,
    secret: config.secret,
    previousSecrets: config.previousSecrets ?? [],
    ...(config.auditCheckpoints ? { checkpoints: checkpointFiles(config.auditCheckpoints) } : {}),
    ...(config.ceilings ? { ceilings: config.ceilings } : {}),
    links: { baseUrl: config.baseUrl ?? `http://localhost:${port}` },
    ...(throttle !== undefined ? { throttle } : {}),
    ...(config.challengeRetentionDays !== undefined
      ? { retention: { endedChallengesDays: config.challengeRetentionDays } }
      : {}),
    ...(config.deliveryRetryWindowPercent !== undefined
      ? { outbox: { retryWindowPercent: config.deliveryRetryWindowPercent } }
      : {}),
    // The engine's own timers: the outbox (retries, lapsed claims, cancellations) every second, the
    // full sweep (expiry, limits, audit retention, completion codes) every sweepSeconds.
    background: { outboxMs: 1000, sweepMs: config.sweepSeconds * 1000 },
  })
  try {
    await engine.migrate()
  } catch (error) {
    server.close()
    await engine.close().catch(() => {})
    throw error
  }
  const status = storage.migrationStatus?.bind(storage)
  const commitStats = storage.commitStats?.bind(storage)
  const handler = createHttpHandler({
    engine,
    secret: config.secret,
    trustProxy: config.trustProxy === true,
    operatorKeySha256: config.operatorKeySha256 ?? [],
    ...(status ? { readiness: status } : {}),
    ...(commitStats ? { commitStats } : {}),
  })
  // The administration console at /console, same origin as the API. Loaded here, not at
  // the top, so the CLI's one-shot commands (which import this file for openStorage) start no slower.
  const { createConsole } = await import('@flexsecure/console')
  const adminConsole = createConsole({
    engine,
    secret: config.secret,
    secureCookies: (config.baseUrl ?? '').startsWith('https:'),
    trustProxy: config.trustProxy === true,
  })
  if (!adminConsole.available) console.warn(`[flexsecure] the console is off: ${adminConsole.unavailable}`)
  // The Node listener only translates between node:http and the web-standard handler (STYLE.md 5);
  // what a Request cannot carry is the connection's address, and that node:http holds each body to
  // its declared length (so the handler may read a small declared body whole instead of streaming it).
  const respond = (request: Request, connection: { remoteAddress?: string; bodyLengthEnforced: boolean }) => {
    // The path without parsing the whole URL on every request (polls are most of them).
    const path = pathOf(request.url)
    return path === '/console' || path.startsWith('/console/')
      ? adminConsole.fetch(request, connection)
      : handler(request, connection)
  }
  // Each request and each answer passes the turn budget, so that one turn of the event loop does not
  // carry every request of a burst (turn-budget.ts); below saturation it costs a clock read a request.
  const requests = gatedRequests(respond, http.turnBudgetMs)
  server.on('request', requests.listener)
  closeUnreadBodies(server)

  // The console's upkeep: ended sessions, and new audit events counted into the login statistics.
  const upkeep = periodically(config.sweepSeconds * 1000, 'console', () => adminConsole.maintain())
  // S34: every account's signed audit head, outside the database, at least every minute (and after
  // every admin change, which the engine does itself).
  const checkpointing = periodically(60_000, 'audit checkpoints', () => engine.writeCheckpoints())

  let closing: Promise<void> | undefined
  return {
    url,
    engine,
    close() {
      closing ??= (async () => {
        upkeep.stop()
        checkpointing.stop()
        // The requests under way end first (within CLOSE_DEADLINE_MS), so none meets a closed engine.
        await requests.close(server, http.closeDeadlineMs)
        await Promise.all([upkeep.running(), checkpointing.running()])
        // Stops the engine's own timers, waiting for a run under way, then closes the storage.
        await engine.close()
      })()
      return closing
    },
  }
}

/** Runs `work` every `ms`, skipping a beat while the previous run is still going. */
function periodically(ms: number, name: string, work: () => Promise<unknown>) {
  let current: Promise<unknown> | null = null
  const timer = setInterval(() => {
    current ??= work()
      .catch((error) => console.error(`[flexsecure] periodic ${name} failed`, error))
      .finally(() => {
        current = null
      })
  }, ms)
  timer.unref()
  return { stop: () => clearInterval(timer), running: () => current ?? Promise.resolve() }
}

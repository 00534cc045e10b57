// Drives a fuzz run: draws requests in batches from a seed (printed, and taken from
// FLEXSECURE_FUZZ_SEED when set, so a failure can be replayed), sends each, and counts what came back.
// Also: the world a run needs (keys, links issued before it) and heap measurement after GC.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { AccountHandle, Engine } from '@flexsecure/core'
import fc from 'fast-check'
import { formTokens } from '../src/link-pages.js'
import { describeRequest, type FuzzWorld, type GeneratedRequest, generatedRequest } from './fuzz-requests.js'

/** The run's seed: FLEXSECURE_FUZZ_SEED, or a fresh one; printed either way. */
export function fuzzSeed(label: string): number {
  const given = process.env.FLEXSECURE_FUZZ_SEED
  const seed = given ? Number(given) : Math.floor(Math.random() * 2 ** 31)
  console.log(`${label}: seed ${seed} (FLEXSECURE_FUZZ_SEED=${seed} replays it)`)
  return seed
}

/** How many requests a run sends: FLEXSECURE_FUZZ_RUNS, or `fallback`. */
export const fuzzRuns = (fallback: number) => Number(process.env.FLEXSECURE_FUZZ_RUNS ?? fallback)

/**
 * Prepares an account for a run: users carol and bob next to alice, a second system, keys of each
 * scope (one revoked, some to be revoked by the run), and links issued, superseded and used.
 */
export async function prepareWorld(engine: Engine, acme: AccountHandle, secret: string, links: () => string) {
  await acme.settings.update({ sendLimits: { perUserPerHour: 10_000, perDestinationPerHour: 10_000 } })
  await acme.systems.create({ name: 'crm', policies: { passwordless: { enabled: true } } })
  await acme.users.create({ authid: 'bob', email: 'bob@example.com' })
  await acme.users.create({ authid: 'carol', email: 'carol@example.com', phone: '+4915112345678' })
  for (const authid of ['alice', 'bob', 'carol'])
    await acme.users.assign(authid, [
      { system: 'payroll', method: authid === 'alice' ? 'pin' : 'passwordless' },
      { system: 'crm', method: 'passwordless' },
    ])
  const key = async (scopes: ('auth' | 'admin')[]) => acme.apiKeys.create({ name: scopes.join('+'), scopes })
  const revoked = await key(['auth', 'admin'])
  await acme.apiKeys.revoke(revoked.id)
  const spare = await Promise.all(Array.from({ length: 10 }, () => key(['auth'])))
  const tokens: string[] = []
  for (let i = 0; i < 12; i++) {
    await acme.start({ system: i % 2 ? 'crm' : 'payroll', authid: i % 3 ? 'bob' : 'carol' })
    tokens.push(links())
  }
  const forms = formTokens(secret)
  const world: FuzzWorld = {
    keys: { auth: (await key(['auth'])).key, admin: (await key(['admin'])).key, revoked: revoked.key },
    spareKeyIds: spare.map((k) => k.id),
    tokens,
    formToken: forms.make,
  }
  await engine.links.confirm(tokens[0] as string)
  return world
}

export interface FuzzStats {
  total: number
  readonly kinds: Record<GeneratedRequest['kind'], number>
  /** Valid requests answered with one of the statuses their route allows. */
  validAnswered: number
  readonly statuses: Map<number, number>
  /** What went wrong: a 5xx, a valid request answered otherwise, a request that threw. */
  readonly failures: string[]
}

/**
 * Sends `runs` generated requests through `send`, which answers the status. The clock moves as the
 * requests say; `between` runs after each batch (the expiry sweep, say).
 */
export async function runFuzz(options: {
  world: FuzzWorld
  seed: number
  runs: number
  send: (request: GeneratedRequest) => Promise<number>
  advance: (ms: number) => void
  between?: () => Promise<unknown>
}): Promise<FuzzStats> {
  const stats: FuzzStats = {
    total: 0,
    kinds: { valid: 0, 'almost valid': 0, hostile: 0 },
    validAnswered: 0,
    statuses: new Map(),
    failures: [],
  }
  const arbitrary = generatedRequest(options.world)
  const BATCH = 250
  for (let batch = 0; stats.total < options.runs; batch++) {
    const requests = fc.sample(arbitrary, {
      seed: options.seed + batch,
      numRuns: Math.min(BATCH, options.runs - stats.total),
    })
    for (const [i, request] of requests.entries()) {
      options.advance(request.advanceMs)
      const where = `request ${batch * BATCH + i} of seed ${options.seed}: ${describeRequest(request)}`
      let status: number
      try {
        status = await options.send(request)
      } catch (error) {
        stats.failures.push(`${where} threw ${String(error)}`)
        continue
      } finally {
        stats.total += 1
        stats.kinds[request.kind] += 1
      }
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1)
      if (status >= 500) stats.failures.push(`${where} answered ${status}`)
      else if (request.kind === 'valid') {
        if (request.expected?.includes(status)) stats.validAnswered += 1
        else stats.failures.push(`${where} is valid but answered ${status}, not one of ${request.expected}`)
      }
    }
    await options.between?.()
  }
  return stats
}

/** One line on what a run sent and got. */
export const summary = (stats: FuzzStats) =>
  `${stats.total} requests (${Object.entries(stats.kinds)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ')}; ${stats.validAnswered} valid and answered as their route allows); statuses ${JSON.stringify(
    Object.fromEntries([...stats.statuses].sort(([a], [b]) => a - b)),
  )}`

/**
 * The heap in use after full garbage collection, in bytes. GC is reached through V8's flag at run
 * time, so the test runner needs no `--expose-gc`; collected three times, as weak references and
 * finalizers free more on later passes. Only this process's heap, whatever else the machine runs.
 */
export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

// S20 (docs/security.md): in uniform mode a refused `start` answers like a real one, and must take what a
// real one takes, or its time tells a caller the user does not exist. A decoy paces itself to a moving
// average of the engine's real starts (packages/core/src/login/uniform-pacing.ts). This bench times real
// and decoy starts of one engine interleaved, one at a time, and prints min / median / max of each and the
// ratio decoy ÷ real. Run it with `pnpm bench:uniform` (`pnpm bench` runs it after the login table).
// See README.md, "Uniform mode: decoy against real starts".

import { loadavg } from 'node:os'
import type { AccountHandle } from '@flexsecure/core'
import { fmt, median, table } from './bench-report.js'
import { setting } from './bench-settings.js'
import { authidOf, SYSTEMS, seedAccount } from './flexsecure-contender.js'
import type { Flow } from './login-harness.js'
import { uniformEngine } from './uniform-engine.js'

const ROUNDS = setting('BENCH_UNIFORM_ROUNDS', 5)
/** Real and decoy starts per flow and round, each. */
const PAIRS = setting('BENCH_UNIFORM_PAIRS', 200)
const USERS = setting('BENCH_UNIFORM_USERS', 200)
/** Real starts per flow before anything is timed: they also give the pacing its average. */
const WARMUP = 50

type Side = 'real' | 'decoy'

/** Milliseconds one `start` takes, answered `success` (a decoy answers it too, S20). */
async function timedStart(account: AccountHandle, system: string, authid: string): Promise<number> {
  const began = performance.now()
  const answer = await account.start({ system, authid })
  const took = performance.now() - began
  if (answer.result !== 'success')
    throw new Error(`start for ${authid} answered ${answer.result}, not success`)
  return took
}

/**
 * One round of a flow: PAIRS real starts (users round-robin) and PAIRS decoys (a user that does not
 * exist), alternating, and which of a pair goes first alternating too, so a busy moment falls on both.
 */
async function round(account: AccountHandle, flow: Flow, offset: number): Promise<Record<Side, number[]>> {
  const times: Record<Side, number[]> = { real: [], decoy: [] }
  for (let i = 0; i < PAIRS; i++) {
    const order: Side[] = i % 2 === 0 ? ['real', 'decoy'] : ['decoy', 'real']
    for (const side of order) {
      const authid = side === 'real' ? authidOf((offset + i) % USERS) : `nobody-${offset + i}`
      times[side].push(await timedStart(account, SYSTEMS[flow], authid))
    }
  }
  return times
}

const ms = (value: number) => fmt(value, 2)

async function main(): Promise<void> {
  const { engine, synchronous, close } = await uniformEngine('uniform')
  try {
    const id = await seedAccount(engine, USERS)
    await engine.account(id).settings.update({ uniformResponses: true })
    const account = engine.account(id)

    console.log(
      [
        'FlexSecure bench: S20, a refused start (decoy) against a real start in uniform mode',
        `  one engine on SQLite at synchronous=${synchronous.toUpperCase()}, ${fmt(USERS)} users; ${ROUNDS} rounds of`,
        `  ${PAIRS} real and ${PAIRS} decoy starts per flow, interleaved, one at a time; decoys for a user`,
        `  that does not exist; load average ${loadavg()[0]?.toFixed(2)} at the start`,
        '',
      ].join('\n'),
    )

    for (const flow of ['link', 'pin'] as const)
      for (let i = 0; i < WARMUP; i++) await timedStart(account, SYSTEMS[flow], authidOf(i % USERS))

    const all: Record<Flow, Record<Side, number[]>> = {
      link: { real: [], decoy: [] },
      pin: { real: [], decoy: [] },
    }
    const ratios: Record<Flow, number[]> = { link: [], pin: [] }
    const rows: string[][] = []
    const loads: string[] = []
    for (let r = 0; r < ROUNDS; r++) {
      for (const flow of ['link', 'pin'] as const) {
        const times = await round(account, flow, r * PAIRS)
        all[flow].real.push(...times.real)
        all[flow].decoy.push(...times.decoy)
        const ratio = median(times.decoy) / median(times.real)
        ratios[flow].push(ratio)
        rows.push([String(r + 1), flow, ms(median(times.real)), ms(median(times.decoy)), fmt(ratio, 3)])
      }
      loads.push(loadavg()[0]?.toFixed(2) ?? '?')
    }
    console.log(table('llrrr', ['round', 'flow', 'real median ms', 'decoy median ms', 'decoy/real'], rows))
    console.log()
    console.log('over all rounds, ms per start')
    const summary: string[][] = []
    for (const flow of ['link', 'pin'] as const)
      for (const side of ['real', 'decoy'] as const) {
        const times = all[flow][side]
        summary.push([flow, side, ms(Math.min(...times)), ms(median(times)), ms(Math.max(...times))])
      }
    console.log(table('llrrr', ['flow', 'start', 'min', 'median', 'max'], summary))
    console.log(`  load average (1 min) after each round: ${loads.join(', ')}`)
    console.log()
    for (const flow of ['link', 'pin'] as const) {
      const r = ratios[flow]
      console.log(
        `decoy/real (${flow}): median ${fmt(median(r), 2)} over rounds (min ${fmt(Math.min(...r), 2)}, ` +
          `max ${fmt(Math.max(...r), 2)}); target 1: a decoy takes what a real start takes`,
      )
    }
  } finally {
    await close()
  }
}

await main().catch((error: unknown) => {
  console.error('\nFAIL:', error)
  process.exitCode = 1
})

// S20 (docs/security.md): in uniform mode a `check` naming a decoy answers like a real challenge, and each
// answer must cost what the real one costs, or repeated polls and guesses tell a caller the user does not
// exist (`payForDecoy` in packages/core/src/login/check.ts). This bench times real and decoy checks of one
// engine interleaved, one at a time, answer by answer, and prints the medians and decoy ÷ real. Run it with
// `pnpm bench:uniform` (`pnpm bench` runs it after the starts). See README.md, "Uniform mode".

import { loadavg } from 'node:os'
import type { AccountHandle, CheckInput } from '@flexsecure/core'
import { fmt, median, table } from './bench-report.js'
import { LIFTED_SEND_LIMITS, setting } from './bench-settings.js'
import { uniformEngine } from './uniform-engine.js'

const ROUNDS = setting('BENCH_UNIFORM_ROUNDS', 5)
/** Real and decoy logins per round, each checked once for every answer. */
const PAIRS = setting('BENCH_UNIFORM_CHECK_PAIRS', 200)
const WRONG_PIN = '00000000'

/**
 * The answers timed, in the order a login meets them. A host polls every 2 s, so a decoy's first poll (which
 * opens its id) and its later ones (kept opened) are timed apart.
 */
const ANSWERS = [
  'pending, first poll',
  'pending, next poll',
  'wrong_pin',
  'wrong_method',
  'expired',
  'no_pending_challenge',
] as const
type Answer = (typeof ANSWERS)[number]

/** A real login and a decoy of one round: their check inputs, PIN and link. */
interface Pair {
  readonly real: { readonly pin: CheckInput; readonly link: CheckInput }
  readonly decoy: { readonly pin: CheckInput; readonly link: CheckInput }
}

/** What each answer checks, and what both sides must answer. */
const CHECKS: Record<Answer, { input: (side: Pair['real']) => CheckInput; result: string }> = {
  'pending, first poll': { input: (side) => side.link, result: 'pending' },
  'pending, next poll': { input: (side) => side.link, result: 'pending' },
  wrong_pin: { input: (side) => ({ ...side.pin, pin: WRONG_PIN }), result: 'wrong_pin' },
  wrong_method: { input: (side) => ({ ...side.link, pin: WRONG_PIN }), result: 'wrong_method' },
  expired: { input: (side) => side.link, result: 'expired' },
  no_pending_challenge: { input: (side) => side.link, result: 'no_pending_challenge' },
}

/** Times of each answer, real and decoy, in ms. */
const timesPerAnswer = () =>
  Object.fromEntries(ANSWERS.map((answer) => [answer, { real: [], decoy: [] }])) as unknown as Record<
    Answer,
    { real: number[]; decoy: number[] }
  >

/** Milliseconds one check takes; it must answer `result` (`reason` for a refusal). */
async function timedCheck(account: AccountHandle, input: CheckInput, result: string): Promise<number> {
  const began = performance.now()
  const answer = await account.check(input)
  const took = performance.now() - began
  const got = answer.result === 'security error' ? answer.reason : answer.result
  if (got !== result) throw new Error(`check of ${input.authid} answered ${got}, not ${result}`)
  return took
}

async function main(): Promise<void> {
  // The wall clock, moved past the challenges' expiry for the last two answers of a round.
  let ahead = 0
  const { engine, synchronous, close } = await uniformEngine('uniform-check', {
    now: () => Date.now() + ahead,
  })
  try {
    const { id } = await engine.accounts.create({
      name: 'Bench',
      settings: { sendLimits: LIFTED_SEND_LIMITS, uniformResponses: true },
    })
    const account = engine.account(id)
    await account.systems.create({ name: 'pins', policies: { pin: { enabled: true } } })
    await account.systems.create({ name: 'links', policies: { passwordless: { enabled: true } } })
    // Fresh users each round: a real wrong PIN counts a failure, and a user in a failure delay is refused.
    for (let n = 0; n < ROUNDS * PAIRS; n++) {
      await account.users.create({ authid: `u${n}`, email: `u${n}@example.com` })
      await account.users.assign(`u${n}`, [
        { system: 'pins', method: 'pin' },
        { system: 'links', method: 'passwordless' },
      ])
    }

    console.log(
      [
        'FlexSecure bench: S20, a check of a decoy against a check of a real challenge in uniform mode',
        `  one engine on SQLite at synchronous=${synchronous.toUpperCase()}, one-time PINs as an HMAC; ${ROUNDS} rounds of`,
        `  ${PAIRS} real and ${PAIRS} decoy logins (PIN and link), each checked once for every answer below, real`,
        `  and decoy interleaved, one at a time; load average ${loadavg()[0]?.toFixed(2)} at the start`,
        '',
      ].join('\n'),
    )

    const all = timesPerAnswer()
    const ratios = Object.fromEntries(ANSWERS.map((answer) => [answer, [] as number[]])) as Record<
      Answer,
      number[]
    >
    const loads: string[] = []
    for (let r = 0; r < ROUNDS; r++) {
      ahead = 0
      const pairs: Pair[] = []
      for (let i = 0; i < PAIRS; i++) {
        const real = `u${r * PAIRS + i}`
        const decoy = `nobody-${r}-${i}`
        const login = async (system: string, authid: string): Promise<CheckInput> => {
          const started = await account.start({ system, authid })
          if (started.result !== 'success') throw new Error(`start for ${authid} answered ${started.result}`)
          return { system, authid, challengeId: started.challengeId }
        }
        pairs.push({
          real: { pin: await login('pins', real), link: await login('links', real) },
          decoy: { pin: await login('pins', decoy), link: await login('links', decoy) },
        })
      }
      const round = timesPerAnswer()
      for (const answer of ANSWERS) {
        // Past every challenge's expiry (a link lives 10 minutes at most by default).
        if (answer === 'expired') ahead = 60 * 60_000
        const { input, result } = CHECKS[answer]
        for (const [i, pair] of pairs.entries())
          for (const side of i % 2 === 0 ? (['real', 'decoy'] as const) : (['decoy', 'real'] as const))
            round[answer][side].push(await timedCheck(account, input(pair[side]), result))
      }
      for (const answer of ANSWERS) {
        all[answer].real.push(...round[answer].real)
        all[answer].decoy.push(...round[answer].decoy)
        ratios[answer].push(median(round[answer].decoy) / median(round[answer].real))
      }
      loads.push(loadavg()[0]?.toFixed(2) ?? '?')
    }

    const ms = (value: number) => fmt(value, 3)
    const rows = ANSWERS.map((answer) => {
      const r = ratios[answer]
      return [
        answer,
        ms(median(all[answer].real)),
        ms(median(all[answer].decoy)),
        fmt(Math.min(...r), 2),
        fmt(median(r), 2),
        fmt(Math.max(...r), 2),
      ]
    })
    console.log(
      table(
        'lrrrrr',
        ['answer', 'real median ms', 'decoy median ms', 'decoy/real min', 'median', 'max'],
        rows,
      ),
    )
    console.log(
      `  decoy/real: over rounds, each round's medians; load average (1 min) after each round: ${loads.join(', ')}`,
    )
    console.log(
      '  target 1 for each: a decoy costs what a real challenge does (docs/security.md, S20, says what is left)',
    )
  } finally {
    await close()
  }
}

await main().catch((error: unknown) => {
  console.error('\nFAIL:', error)
  process.exitCode = 1
})

// What adaptive policy costs `start`: the in-process start on a SQLite file for a system with 20 rules,
// as a ratio to the same start for a system without rules, measured in the same run, interleaved.
// Run it with `pnpm bench:policy` in this package (or `pnpm bench:all`). See README.md.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createEngine, decide, type Rule, validateRules } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'
import { fmt, median, table } from './bench-report.js'
import { LIFTED_SEND_LIMITS, setting } from './bench-settings.js'

const TARGET_OVERHEAD = 0.05
const ROUNDS = setting('BENCH_ROUNDS', 7)
const STARTS = setting('BENCH_POLICY_STARTS', 1000)
const USERS = 500

/**
 * Twenty rules of the kinds a real account writes, every condition kind represented: office and VPN
 * ranges, office hours in a time zone, tiers, resource and action labels, a device seen before (one
 * indexed query), failures, days since the last success, user attributes. Four of them match the
 * bench's requests and tighten the lifetime; none denies, so every start issues a challenge.
 */
const RULES: Rule[] = [
  { name: 'office-relaxed', when: { ipIn: ['10.0.0.0/8', '192.168.0.0/16'] }, effect: { channel: 'email' } },
  { name: 'vpn', when: { ipIn: ['100.64.0.0/10'] }, effect: { maxLifetimeSeconds: 300 } },
  {
    name: 'outside-high',
    when: { ipNotIn: ['10.0.0.0/8'], sensitivityAtLeast: 'high' },
    effect: { requireMemorizedPin: true },
  },
  {
    name: 'outside-any',
    when: { ipNotIn: ['10.0.0.0/8', '172.16.0.0/12'] },
    effect: { maxLifetimeSeconds: 540 },
  },
  {
    name: 'night',
    when: { timeNotIn: { timeZone: 'Europe/Berlin', from: '06:00', to: '23:00' } },
    effect: { maxAttempts: 3 },
  },
  {
    name: 'weekend',
    when: { timeIn: { timeZone: 'America/New_York', days: ['sat', 'sun'] } },
    effect: { maxLifetimeSeconds: 300 },
  },
  {
    name: 'payroll-export',
    when: { resource: ['payroll'], action: ['export'] },
    effect: { numberMatching: true },
  },
  {
    name: 'admin-actions',
    when: { action: ['delete', 'grant', 'rotate-keys'] },
    effect: { requireMemorizedPin: true },
  },
  { name: 'reports', when: { resource: ['reports'] }, effect: { maxLifetimeSeconds: 480 } },
  {
    name: 'new-device',
    when: { newDevice: true, sensitivityAtLeast: 'high' },
    effect: { numberMatching: true },
  },
  { name: 'failures', when: { failuresAtLeast: 3 }, effect: { maxAttempts: 2 } },
  {
    name: 'dormant',
    when: { daysSinceLastSuccessAtLeast: 90, sensitivityAtLeast: 'high' },
    effect: { numberMatching: true },
  },
  {
    name: 'contractors',
    when: { userAttributes: { contractor: true } },
    effect: { maxLifetimeSeconds: 180 },
  },
  {
    name: 'finance',
    when: { userAttributes: { department: ['finance', 'treasury'] } },
    effect: { channel: 'sms' },
  },
  {
    name: 'interns-deny-high',
    when: { userAttributes: { role: 'intern' }, sensitivityAtLeast: 'high' },
    effect: { deny: true },
  },
  {
    name: 'partner-range',
    when: { ipIn: ['198.18.0.0/15', '2001:db8:1::/48'] },
    effect: { maxLifetimeSeconds: 240 },
  },
  { name: 'blocked-range', when: { ipIn: ['192.0.2.0/24'] }, effect: { deny: true } },
  { name: 'ipv6-office', when: { ipIn: ['2001:db8::/48'] }, effect: { channel: 'email' } },
  { name: 'medium-plus', when: { sensitivityAtLeast: 'medium' }, effect: { maxLifetimeSeconds: 570 } },
  { name: 'everyone', effect: { maxLifetimeSeconds: 600 } },
]

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-policy-bench-'))
  try {
    const engine = createEngine({
      storage: sqliteStorage({ filename: join(dir, 'bench.db') }),
      notifier: captureNotifier(),
      secret: 'bench-secret-bench-secret-bench-secret',
      links: { baseUrl: 'https://auth.example.com' },
      logger: { warn: () => {}, error: () => {} },
      // S31's per-minute operation budgets would refuse the bench's starts within a second: lifted like
      // the send limits (flexsecure-contender.ts does the same).
      throttle: false,
    })
    await engine.migrate()
    const { id } = await engine.accounts.create({
      name: 'Bench',
      settings: { sendLimits: LIFTED_SEND_LIMITS },
    })
    const acme = engine.account(id)
    const policies = { passwordless: { enabled: true } }
    await acme.systems.create({ name: 'plain', sensitivity: 'medium', policies })
    await acme.systems.create({ name: 'ruled', sensitivity: 'medium', policies, rules: RULES })
    const users: string[] = []
    for (let i = 0; i < USERS; i++) {
      const authid = `u${i}`
      await acme.users.create({
        authid,
        email: `${authid}@example.com`,
        attributes: { department: 'sales', contractor: false, role: 'staff' },
      })
      await acme.users.assign(authid, [
        { system: 'plain', method: 'passwordless' },
        { system: 'ruled', method: 'passwordless' },
      ])
      users.push(authid)
    }
    // The same request on both sides: an outside address, a device, a resource and an action.
    const context = {
      ip: '203.0.113.50',
      userAgent: 'bench',
      deviceId: 'device-1',
      resource: 'reports',
      action: 'view',
    }
    let next = 0
    /** Total milliseconds for `count` starts on `system`. */
    const block = async (system: string, count: number): Promise<number> => {
      const began = performance.now()
      for (let i = 0; i < count; i++) {
        const started = await acme.start({ system, authid: users[next++ % USERS] as string, context })
        if (started.result !== 'success') throw new Error(`start on ${system} answered ${started.result}`)
      }
      return performance.now() - began
    }
    // Within a round the sides alternate start by start, so a WAL checkpoint, a GC pause or another
    // process on this shared machine lands on both sides alike; which side goes first alternates too.
    const BLOCK = 1
    const run = async (first: 'plain' | 'ruled'): Promise<{ plain: number; ruled: number }> => {
      const total = { plain: 0, ruled: 0 }
      const second = first === 'plain' ? 'ruled' : 'plain'
      for (let done = 0; done < STARTS; done += BLOCK) {
        total[first] += await block(first, BLOCK)
        total[second] += await block(second, BLOCK)
      }
      return { plain: total.plain / STARTS, ruled: total.ruled / STARTS }
    }
    const check = await acme.simulate({ system: 'ruled', authid: 'u0', context })
    if (check.result !== 'decision' || check.decision.denied)
      throw new Error(`the bench's request must pass the rules: ${JSON.stringify(check)}`)

    console.log('FlexSecure bench: what 20 adaptive rules add to an in-process start (SQLite file)')
    console.log(
      `  node ${process.version}; ${USERS} users assigned to two passwordless systems, 'plain' (no rules)`,
    )
    console.log(
      `  and 'ruled' (${RULES.length} rules, every condition kind, one reading the device history);`,
    )
    console.log(
      `  ${check.decision.matched.length} of them match the bench's request: ${check.decision.matched.map((m) => m.rule).join(', ')}`,
    )
    console.log(
      `  ${ROUNDS} rounds after a warm-up, ${fmt(STARTS)} starts per side each, alternating start by start\n`,
    )

    await run('plain')
    const rows: string[][] = []
    const overheads: number[] = []
    const times = { plain: [] as number[], ruled: [] as number[] }
    for (let round = 1; round <= ROUNDS; round++) {
      const first = round % 2 === 1 ? 'plain' : 'ruled'
      const { plain, ruled } = await run(first)
      times.plain.push(plain)
      times.ruled.push(ruled)
      overheads.push(ruled / plain - 1)
      rows.push([
        String(round),
        first,
        fmt(plain * 1000, 1),
        fmt(ruled * 1000, 1),
        `${fmt((ruled / plain - 1) * 100, 1)}%`,
      ])
    }
    const overhead = median(overheads)
    rows.push([
      'median',
      '',
      fmt(median(times.plain) * 1000, 1),
      fmt(median(times.ruled) * 1000, 1),
      `${fmt(overhead * 100, 1)}%`,
    ])
    console.log(table('rlrrr', ['round', 'first', 'µs/start plain', 'µs/start ruled', 'added'], rows))
    // For reading: the decision alone, on the same rules and request, warm.
    const rules = validateRules(RULES)
    const input = {
      system: { name: 'ruled', sensitivity: 'medium' as const },
      user: {
        authid: 'u0',
        attributes: { department: 'sales', contractor: false, role: 'staff' },
        failureStreak: 0,
        lastSuccessAt: null,
        hasMemorizedPin: false,
      },
      context,
      knownDevice: null,
      now: Date.now(),
    }
    const base = { method: 'passwordless' as const, lifetimeSeconds: 600, attempts: 5 }
    for (let i = 0; i < 5000; i++) decide(rules, base, input)
    const began = performance.now()
    for (let i = 0; i < 20_000; i++) decide(rules, base, input)
    const decideUs = ((performance.now() - began) / 20_000) * 1000
    console.log(
      `\n  the decision alone (decide, 20 rules, warm): ${fmt(decideUs, 1)} µs; the added time per start: ${fmt((median(times.ruled) - median(times.plain)) * 1000, 1)} µs`,
    )
    console.log(
      `\nratio ruled/plain: ${fmt(1 + overhead, 3)}; policy adds ${fmt(overhead * 100, 1)}% to start (target < ${fmt(TARGET_OVERHEAD * 100)}%)`,
    )
    await engine.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()

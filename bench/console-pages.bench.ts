// Server response time of every console page with 100,000 users and 1,000,000 audit events, on a
// SQLite file: the time from handing the console its Request to having read the whole page. Target:
// under 200 ms each (issue 15). Run it with `pnpm --filter @flexsecure/bench run bench:console`.

import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createConsole } from '@flexsecure/console'
import { CONSOLE_SYSTEM, createEngine } from '@flexsecure/core'
import { captureNotifier } from '@flexsecure/core/testing'
import { sqliteStorage } from '@flexsecure/sqlite'
import BetterSqlite3 from 'better-sqlite3'
import { fmt, median, table } from './bench-report.js'
import { setting } from './bench-settings.js'
import { authidOf, seed } from './console-seed.js'

const USERS = setting('BENCH_CONSOLE_USERS', 100_000)
const EVENTS = setting('BENCH_CONSOLE_EVENTS', 1_000_000)
const RUNS = setting('BENCH_CONSOLE_RUNS', 15)
const TARGET_MS = 200
const SECRET = 'bench-secret-bench-secret-bench-secret'
const ADMIN = 'admin@example.com'
const DAY = 86_400_000

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')
const dir = mkdtempSync(join(tmpdir(), 'flexsecure-console-bench-'))
const filename = join(dir, 'console.db')
const notifier = captureNotifier()
const engine = createEngine({
  storage: sqliteStorage({ filename }),
  notifier,
  secret: SECRET,
  links: { baseUrl: 'https://auth.example.com' },
})

try {
  console.log(
    `Console pages: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load ${load()}`,
  )
  await engine.migrate()
  const { id: accountId } = await engine.accounts.create({
    name: 'Acme',
    settings: { sendLimits: { resendCooldownSeconds: 0 } },
  })
  const acme = engine.account(accountId)
  for (const name of ['payroll', 'crm', 'wiki', 'vpn', 'shop'])
    await acme.systems.create({
      name,
      policies: { passwordless: { enabled: true }, pin: { enabled: true } },
      rules: [{ name: 'office', when: { ipNotIn: ['203.0.113.0/24'] }, effect: { numberMatching: true } }],
    })
  await acme.console.grant({ authid: ADMIN, email: ADMIN, role: 'admin' })
  await acme.apiKeys.create({ name: 'web', scopes: ['auth'] })
  const systemIds = new Map((await acme.systems.list()).map((s) => [s.name, s.id]))

  const raw = new BetterSqlite3(filename)
  raw.pragma('journal_mode = WAL')
  const seeded = seed(raw, {
    accountId,
    secret: SECRET,
    users: USERS,
    events: EVENTS,
    now: Date.now(),
    systemIds,
  })
  raw.close()
  console.log(
    `Seeded ${fmt(seeded.users)} users and ${fmt(seeded.events)} audit events in ${fmt(seeded.seconds, 1)} s.`,
  )

  // An administrator's session, as the sign-in pages open it.
  const started = await acme.start({ system: CONSOLE_SYSTEM, authid: ADMIN })
  if (started.result !== 'success' || !started.challengeId) throw new Error('console start failed')
  await engine.links.confirm(notifier.last().token ?? '', { matchCode: started.matchCode as string })
  const checked = await acme.check({
    system: CONSOLE_SYSTEM,
    authid: ADMIN,
    challengeId: started.challengeId,
  })
  if (checked.result !== 'authenticated') throw new Error('console check failed')
  const opened = await engine.consoleSessions().open({ accountId, challengeId: checked.challengeId })
  if (opened.result !== 'opened') throw new Error('no session')
  const adminConsole = createConsole({ engine, secret: SECRET })
  const cookie = `fs_console=${opened.token}`

  // The login statistics read the trail once, after the fact (the server does it every 30 s).
  let t = performance.now()
  for (;;) {
    const { counted } = await adminConsole.maintain()
    if (counted === 0) break
  }
  console.log(
    `Counted the trail into login statistics in ${fmt((performance.now() - t) / 1000, 1)} s (once; then only new events).`,
  )
  t = performance.now()
  const verdict = await acme.audit.verify()
  console.log(
    `Verifying the audit chain (an action, not a page) took ${fmt((performance.now() - t) / 1000, 1)} s: ${verdict.ok ? 'intact' : 'BROKEN'}.`,
  )

  const since = new Date(Date.now() - 20 * DAY).toISOString().slice(0, 16)
  const until = new Date(Date.now() - 20 * DAY + 3_600_000).toISOString().slice(0, 16)
  const pages: [string, string][] = [
    ['overview, per hour', '/console/'],
    ['overview, per day', '/console/?bucket=day'],
    ['systems', '/console/systems'],
    ['a system, with "try it"', `/console/systems/payroll?try=${authidOf(42)}&context=ip%3D198.51.100.7`],
    ['users, first page', '/console/users'],
    [
      'users, a later page',
      `/console/users?after=${Buffer.from(JSON.stringify([authidOf(60_000), ''])).toString('base64url')}`,
    ],
    ['users by authid', `/console/users?query=${authidOf(50_000)}&by=authid`],
    ['users by name (10% match)', '/console/users?query=Grace&by=displayName'],
    ['users by email', `/console/users?query=${authidOf(7)}%40&by=email`],
    ['users by phone', '/console/users?query=%2B1415501&by=phone'],
    ['locked users', '/console/users?status=locked'],
    ['a user', `/console/users/${authidOf(42)}`],
    ['audit, newest', '/console/audit'],
    ['audit, one user (bounded scan)', `/console/audit?authid=${authidOf(42)}`],
    ['audit, event and outcome', '/console/audit?type=challenge.checked&outcome=expired'],
    ['audit, an hour 20 days ago', `/console/audit?since=${since}&until=${until}`],
    ['deliveries, waiting', '/console/deliveries'],
    ['deliveries, abandoned', '/console/deliveries?queue=abandoned'],
    ['API keys', '/console/keys'],
    ['settings', '/console/settings'],
    ['your sessions', '/console/sessions'],
    ['sign-in (no session)', '/console/sign-in'],
  ]
  const rows: string[][] = []
  let slowest = 0
  for (const [label, path] of pages) {
    const headers: Record<string, string> = path === '/console/sign-in' ? {} : { cookie }
    const once = async () => {
      const start = performance.now()
      const response = await adminConsole.fetch(new Request(`http://localhost${path}`, { headers }), {
        remoteAddress: '127.0.0.1',
      })
      const body = await response.text()
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body.slice(0, 200)}`)
      return performance.now() - start
    }
    for (let i = 0; i < 2; i++) await once()
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) times.push(await once())
    const mid = median(times)
    slowest = Math.max(slowest, mid)
    rows.push([label, fmt(mid, 1), fmt(Math.max(...times), 1), mid < TARGET_MS ? 'yes' : 'NO'])
  }
  console.log(`\nServer response per page, ${RUNS} runs each after 2 warm-up runs (ms):`)
  console.log(table('lrrl', ['page', 'median', 'max', `< ${TARGET_MS} ms`], rows))
  console.log(
    `\nSlowest median: ${fmt(slowest, 1)} ms (target < ${TARGET_MS} ms). Load at the end: ${load()}.`,
  )
} finally {
  await engine.close()
  rmSync(dir, { recursive: true, force: true })
}

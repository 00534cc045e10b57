import type { Hono } from 'hono'
import type { ConsoleEnv, ConsoleKit } from '../console-context.js'
import { ChainStatus } from '../views/chain-status.js'
import { Select, TableRegion } from '../views/controls.js'
import { Layout } from '../views/layout.js'
import { LoginChart } from '../views/login-chart.js'

// The overview: what an administrator looks at first. Logins per hour or per day as a chart, the
// numbers that need attention, and where the audit chain stands. Each number comes from an index or
// a small table (stats.overview), so the page stays fast at any size.

/** Notices shown after a change, by the key a redirect carries (`?done=`). */
export const NOTICES: Readonly<Record<string, string>> = {
  verified: 'The audit chain was verified.',
  'system-created': 'The system was created.',
  'system-saved': 'The system was saved.',
  'rules-saved': 'The rules were saved.',
  'rules-changed':
    'The rules had changed since that page was loaded, so nothing was moved or removed. Here they are now.',
  'user-created': 'The user was created.',
  'user-saved': 'The user was saved.',
  assigned: 'The assignments were saved.',
  unlocked: 'The user was unlocked.',
  'pin-set': 'The memorized PIN was set.',
  'pin-cleared': 'The memorized PIN was cleared.',
  'user-removed': 'The user was removed.',
  'role-saved': 'Console access was saved.',
  requeued: 'The delivery will be sent at the next outbox run (within a second or two).',
  'not-requeued':
    'That delivery is no longer waiting (sent, in flight, expired or abandoned), so it was not requeued.',
  'key-revoked': 'The key was revoked. Requests with it are refused from now on.',
  'key-not-revoked': 'That key was already revoked.',
  'settings-saved': 'The settings were saved.',
  'messages-saved': 'The messages were saved.',
  'session-revoked': 'The session was revoked.',
  confirmed: 'Thanks, you confirmed it is you. Go ahead.',
}

/** The overview page. */
export function overviewRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  app.get(`${base}/`, async (c) => {
    const account = c.var.account
    const bucket = c.req.query('bucket') === 'day' ? 'day' : 'hour'
    const systems = await account.systems.list()
    const system = systems.some((s) => s.name === c.req.query('system')) ? c.req.query('system') : undefined
    const [overview, stats] = await Promise.all([
      account.stats.overview(),
      account.stats.logins({ bucket, ...(system ? { system } : {}) }),
    ])
    const notice = NOTICES[c.req.query('done') ?? '']
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Overview" flash={notice}>
        <section aria-labelledby="logins">
          <h2 id="logins">Logins</h2>
          <form method="get" action={`${base}/`} class="filters">
            <Select
              name="bucket"
              label="Per"
              value={bucket}
              options={[
                ['hour', 'hour (last 24 hours)'],
                ['day', 'day (last 14 days)'],
              ]}
            />
            <Select
              name="system"
              label="System"
              value={system ?? ''}
              options={[['', 'All systems'], ...systems.map((s) => [s.name, s.name] as const)]}
            />
            <button type="submit" class="secondary">
              Show
            </button>
          </form>
          <LoginChart stats={stats} caption={`Logins per ${bucket}${system ? ` of ${system}` : ''}`} />
          {stats.behind > 0 ? (
            <p class="hint">{stats.behind} newer audit events are still being counted; reload in a moment.</p>
          ) : null}
          <h3>Per system</h3>
          <TableRegion label="Logins per system">
            <thead>
              <tr>
                <th scope="col">System</th>
                <th scope="col">Succeeded</th>
                <th scope="col">Failed</th>
              </tr>
            </thead>
            <tbody>
              {stats.systems.length === 0 ? (
                <tr>
                  <td colspan={3}>No logins in this period.</td>
                </tr>
              ) : (
                stats.systems.map((s) => (
                  <tr>
                    <th scope="row">
                      <a href={`${base}/?bucket=${bucket}&system=${encodeURIComponent(s.system)}`}>
                        {s.system}
                      </a>
                    </th>
                    <td>{String(s.succeeded)}</td>
                    <td>{String(s.failed)}</td>
                  </tr>
                ))
              )}
            </tbody>
          </TableRegion>
        </section>
        <section aria-labelledby="attention">
          <h2 id="attention">At a glance</h2>
          <ul class="cards">
            <li>
              <span class="number">{String(overview.pendingChallenges)}</span> logins waiting for their link
              or PIN
            </li>
            <li>
              <a href={`${base}/deliveries`}>
                <span class="number">{String(overview.deliveries.waiting)}</span> messages waiting to be sent
                or retried
              </a>
            </li>
            <li>
              <a href={`${base}/deliveries?queue=abandoned`}>
                <span class="number">{String(overview.deliveries.abandonedLastDay)}</span> messages abandoned
                in the last 24 hours
              </a>
            </li>
            <li>
              <a href={`${base}/users?status=locked`}>
                <span class="number">{String(overview.lockedUsers)}</span> locked users
              </a>
            </li>
          </ul>
        </section>
        <ChainStatus base={base} audit={overview.audit} csrf={c.var.csrf} back={`${base}/`} />
      </Layout>,
    )
  })
}

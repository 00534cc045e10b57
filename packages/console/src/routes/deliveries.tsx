import type { Hono } from 'hono'
import type { ConsoleEnv, ConsoleKit } from '../console-context.js'
import { PostButton, TableRegion } from '../views/controls.js'
import { Layout, When } from '../views/layout.js'
import { NOTICES } from './overview.js'

// The outbox: messages waiting to be sent or retried, and those abandoned with the reason. A waiting
// one can be requeued (sent at the next outbox run instead of after its back-off); an abandoned one
// cannot be sent again, since its content (the link or PIN) was erased when it was given up.

/** The outbox: waiting and abandoned messages, and requeueing one. */
export function deliveryRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  app.get(`${base}/deliveries`, async (c) => {
    const queue = c.req.query('queue') === 'abandoned' ? 'abandoned' : 'waiting'
    const after = c.req.query('after')
    const page = await c.var.account.deliveries.list({ queue, ...(after ? { after } : {}), limit: 50 })
    const admin = c.var.session?.role === 'admin'
    const tab = (name: 'waiting' | 'abandoned', label: string) => (
      <li>
        <a href={`${base}/deliveries?queue=${name}`} aria-current={queue === name ? 'page' : undefined}>
          {label}
        </a>
      </li>
    )
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Deliveries" flash={NOTICES[c.req.query('done') ?? '']}>
        <nav aria-label="Outbox" class="tabs">
          <ul>
            {tab('waiting', 'Waiting (queued or failed)')}
            {tab('abandoned', 'Abandoned')}
          </ul>
        </nav>
        <p>
          {queue === 'waiting'
            ? 'Messages not sent yet: a failed one is retried with growing delays until its login expires.'
            : 'Messages given up on: a permanent refusal, or retries ran out. Their content is erased; the user starts a new login.'}
        </p>
        <TableRegion label={queue === 'waiting' ? 'Waiting deliveries' : 'Abandoned deliveries'}>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">System</th>
              <th scope="col">User</th>
              <th scope="col">Channel</th>
              <th scope="col">To</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">{queue === 'waiting' ? 'Next attempt' : 'Given up'}</th>
              <th scope="col">Reason</th>
              {admin && queue === 'waiting' ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
            {page.deliveries.length === 0 ? (
              <tr>
                <td colspan={10}>Nothing here.</td>
              </tr>
            ) : (
              page.deliveries.map((d) => (
                <tr>
                  <td>
                    <When at={d.createdAt} />
                  </td>
                  <td>{d.system ?? ''}</td>
                  <td>{d.authid ?? ''}</td>
                  <td>{d.channel}</td>
                  <td>{d.destination}</td>
                  <td>{d.status}</td>
                  <td>{String(d.attempts)}</td>
                  <td>
                    <When at={queue === 'waiting' ? d.nextAttemptAt : d.updatedAt} />
                  </td>
                  <td>{d.lastError ?? ''}</td>
                  {admin && queue === 'waiting' ? (
                    <td>
                      <PostButton
                        action={`${base}/deliveries/requeue`}
                        label="Send now"
                        describe={`Send now: the message to ${d.destination}`}
                        csrf={c.var.csrf}
                        fields={{ id: d.id }}
                      />
                    </td>
                  ) : null}
                </tr>
              ))
            )}
          </tbody>
        </TableRegion>
        {page.next ? (
          <nav aria-label="Pages" class="pager">
            <a href={`${base}/deliveries?queue=${queue}&after=${encodeURIComponent(page.next)}`}>Next page</a>
          </nav>
        ) : null}
      </Layout>,
    )
  })

  app.post(`${base}/deliveries/requeue`, async (c) => {
    const id = (await kit.form(c)).get('id') ?? ''
    const { requeued } = await c.var.account.deliveries.requeue(id)
    return kit.redirect(c, `${base}/deliveries`, requeued ? 'requeued' : 'not-requeued')
  })
}

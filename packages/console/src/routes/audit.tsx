import { type AuditEvent, type AuditFilters, auditExportStream } from '@flexsecure/core'
import type { Hono } from 'hono'
import type { ConsoleContext, ConsoleEnv, ConsoleKit } from '../console-context.js'
import { ChainStatus } from '../views/chain-status.js'
import { Field, type FieldError, TableRegion } from '../views/controls.js'
import { Layout, When } from '../views/layout.js'
import { consolePath } from './sign-in.js'

// The audit trail: filters, newest-first pages that each read a bounded window of the trail (so a rare
// filter answers in bounded time and offers to read on), a live tail, CSV export and verification.

const FILTERS = ['system', 'authid', 'type', 'outcome'] as const

/** A `datetime-local` value, read as UTC. */
function utc(value: string | undefined): Date | undefined {
  if (!value) return undefined
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** A time the audit keeps as epoch milliseconds (`expiresAt`, `retryAfter`), shown as one a person reads. */
const asTime = (key: string, value: unknown) =>
  typeof value === 'number' && /(At|After)$/.test(key) && Number.isSafeInteger(value) && value > 0
    ? `${new Date(value).toISOString().slice(0, 19).replace('T', ' ')} UTC`
    : value

const details = (event: AuditEvent) => {
  const text = event.details === null ? '' : JSON.stringify(event.details, asTime)
  return text.length > 240 ? `${text.slice(0, 240)}…` : text
}

/** The account's API keys by id: the audit records a key's calls under its id, the console shows its name. */
type KeyNames = ReadonlyMap<string, string>
const keyNames = async (c: ConsoleContext): Promise<KeyNames> =>
  new Map((await c.var.account.apiKeys.list()).map((key) => [key.id, key.name]))

/** Who acted: an API key by its name and id, anyone else as the audit recorded them. */
const actorOf = (actor: string, keys: KeyNames) => {
  const name = keys.get(actor)
  return name === undefined ? actor : `key “${name}” (${actor})`
}

/** An event as the live tail's script receives it: text only, which it puts in cells as text. */
const tailRow = (e: AuditEvent, keys: KeyNames) => ({
  seq: e.seq,
  at: `${new Date(e.at).toISOString().slice(0, 19).replace('T', ' ')} UTC`,
  type: e.type,
  actor: actorOf(e.actor, keys),
  system: e.system ?? '',
  authid: e.authid ?? '',
  outcome: e.outcome,
  reason: e.reason ?? '',
  ip: e.ip ?? '',
  details: details(e),
})

/** This page's address, its filters kept, without the notice of an earlier change: where Verify comes back to. */
function withoutNotice(url: string): string {
  const here = new URL(url)
  here.searchParams.delete('done')
  return here.pathname + here.search
}

/** The filters that take a time, with their labels. */
const TIME_FILTERS = [
  ['since', 'From (UTC)'],
  ['until', 'Until (UTC)'],
] as const

/** The audit trail: pages, live tail, CSV export, verification. */
export function auditRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  const filtersOf = (c: ConsoleContext) => {
    const given: Record<string, string> = {}
    for (const name of FILTERS) {
      const value = c.req.query(name)?.trim()
      if (value) given[name] = value.slice(0, 256)
    }
    const since = utc(c.req.query('since'))
    // "Until 10:05" takes in the events of 10:05 itself: to the minute's end (storage's until is exclusive).
    const untilText = c.req.query('until')?.trim()
    const untilMinute = utc(untilText)
    const until =
      untilMinute && /T\d\d:\d\d$/.test(untilText ?? '')
        ? new Date(untilMinute.getTime() + 60_000)
        : untilMinute
    // A time that is not one is said beside its field, not dropped without a word.
    const errors: FieldError[] = TIME_FILTERS.map(([name]) => name)
      .filter((name) => c.req.query(name)?.trim() && utc(c.req.query(name)) === undefined)
      .map((field) => ({ field, message: 'must be a date and time in UTC, e.g. 2026-12-07T09:30' }))
    return { text: given, since, until, errors }
  }

  app.get(`${base}/audit`, async (c) => {
    const { text, since, until, errors } = filtersOf(c)
    const before = Number(c.req.query('before'))
    const account = c.var.account
    const [page, overview, keys] = await Promise.all([
      account.audit.search({
        ...text,
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(Number.isSafeInteger(before) && before > 0 ? { before } : {}),
        limit: 50,
      }),
      account.stats.overview(),
      keyNames(c),
    ])
    const query = new URLSearchParams({
      ...text,
      ...(c.req.query('since') ? { since: c.req.query('since') as string } : {}),
      ...(c.req.query('until') ? { until: c.req.query('until') as string } : {}),
    })
    const live = !c.req.query('before') && !until
    return kit.render(
      c,
      <Layout
        page={kit.page(c)}
        wide
        title="Audit trail"
        flash={c.req.query('done') === 'verified' ? 'The audit chain was verified.' : null}
      >
        <ChainStatus base={base} audit={overview.audit} csrf={c.var.csrf} back={withoutNotice(c.req.url)} />
        <section aria-labelledby="events">
          <h2 id="events">Events</h2>
          <form method="get" action={`${base}/audit`} class="filters">
            {TIME_FILTERS.map(([name, label]) => (
              <Field
                name={name}
                label={label}
                type="datetime-local"
                value={c.req.query(name) ?? ''}
                errors={errors}
              />
            ))}
            <Field name="system" label="System" value={text.system ?? ''} />
            <Field name="authid" label="User id" value={text.authid ?? ''} />
            <Field name="type" label="Event" hint="e.g. challenge.checked" value={text.type ?? ''} />
            <Field name="outcome" label="Outcome" hint="e.g. authenticated" value={text.outcome ?? ''} />
            <button type="submit" class="secondary">
              Filter
            </button>
          </form>
          <p class="actions">
            <a href={`${base}/audit/export.csv?${query}`} download="audit.csv">
              Export these events as CSV
            </a>
            {live ? (
              <span class="live" hidden>
                <input
                  type="checkbox"
                  id="live-tail"
                  data-tail={`${base}/audit/tail?${query}`}
                  data-after={String(overview.audit.lastSeq)}
                />
                <label for="live-tail">Live: add new events as they happen</label>
              </span>
            ) : null}
          </p>
          <TableRegion label="Audit events, newest first" class="audit-events">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Actor</th>
                <th scope="col">System</th>
                <th scope="col">User</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
                <th scope="col">IP</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody id="audit-rows">
              {page.events.map((e) => (
                <tr>
                  <td>{String(e.seq)}</td>
                  <td>
                    <When at={e.at} />
                  </td>
                  <td>{e.type}</td>
                  <td>{actorOf(e.actor, keys)}</td>
                  <td>{e.system ?? ''}</td>
                  <td>{e.authid ?? ''}</td>
                  <td>{e.outcome}</td>
                  <td>{e.reason ?? ''}</td>
                  <td>{e.ip ?? ''}</td>
                  <td class="details">{details(e)}</td>
                </tr>
              ))}
            </tbody>
          </TableRegion>
          <p class="hint">
            {page.scanned.from > page.scanned.to
              ? 'No events in that time.'
              : `${page.events.length === 0 ? 'No matching events in events' : 'Read events'} #${page.scanned.from}–#${page.scanned.to}.`}
          </p>
          {page.next !== null ? (
            <nav aria-label="Pages" class="pager">
              <a
                href={`${base}/audit?${new URLSearchParams({ ...Object.fromEntries(query), before: String(page.next) })}`}
              >
                Older events
              </a>
            </nav>
          ) : null}
        </section>
      </Layout>,
      errors.length > 0 ? 400 : 200,
    )
  })

  app.get(`${base}/audit/tail`, async (c) => {
    const { text, since } = filtersOf(c)
    const after = Number(c.req.query('after'))
    const filters: AuditFilters = {
      ...text,
      ...(since ? { since } : {}),
      ...(Number.isSafeInteger(after) && after >= 0 ? { after } : {}),
      limit: 200,
    }
    const [{ events }, keys] = await Promise.all([c.var.account.audit.list(filters), keyNames(c)])
    return c.json(
      {
        events: events.map((e) => tailRow(e, keys)),
        after: events.at(-1)?.seq ?? (Number.isSafeInteger(after) ? after : 0),
      },
      200,
      {
        'cache-control': 'no-store',
      },
    )
  })

  app.get(`${base}/audit/export.csv`, (c) => {
    const { text, since, until } = filtersOf(c)
    const filters = { ...text, ...(since ? { since } : {}), ...(until ? { until } : {}) }
    const stream = auditExportStream(c.var.account.audit.list, filters, 'csv')
    return new Response(stream, {
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="audit.csv"',
        'cache-control': 'no-store',
      },
    })
  })

  // Verifying reads the whole chain and changes nothing of the account; viewers may run it too.
  app.post(`${base}/audit/verify`, async (c) => {
    await c.var.account.audit.verify()
    const back = consolePath(base, (await kit.form(c)).get('back')) ?? `${base}/audit`
    return kit.redirect(c, back, 'verified')
  })
}

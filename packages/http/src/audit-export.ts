import type { AccountHandle, AuditEvent, AuditFilters } from '@flexsecure/core'

const CSV_COLUMNS = [
  'seq',
  'at',
  'type',
  'actor',
  'system',
  'authid',
  'challengeId',
  'outcome',
  'reason',
  'ip',
  'userAgent',
  'details',
  'mac',
] as const

/**
 * One CSV cell. S36: exports are inert. A cell that begins with `=`, `+`, `-`, `@`, tab or carriage
 * return is a formula to a spreadsheet (an authid of `=HYPERLINK(…)` would be live), so it gets a `'`.
 */
export function csvCell(value: unknown): string {
  const raw =
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value)
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Every matching event as JSON Lines or CSV, read a page at a time as the client takes them. */
export function exportAudit(
  account: AccountHandle,
  filters: AuditFilters,
  format: 'jsonl' | 'csv',
): Response {
  const encoder = new TextEncoder()
  const line = (event: AuditEvent) =>
    format === 'jsonl'
      ? `${JSON.stringify({ ...event, at: new Date(event.at).toISOString() })}\n`
      : `${CSV_COLUMNS.map((c) => csvCell(c === 'at' ? new Date(event.at).toISOString() : event[c])).join(',')}\n`
  let after = filters.after
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (format === 'csv') controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(',')}\n`))
    },
    // One page per pull: a long trail streams at the client's pace instead of filling memory first.
    async pull(controller) {
      const page = await account.audit.list({
        ...filters,
        limit: 500,
        ...(after !== undefined ? { after } : {}),
      })
      controller.enqueue(encoder.encode(page.events.map(line).join('')))
      if (page.next === null) controller.close()
      else after = page.next
    },
  })
  return new Response(stream, {
    headers: {
      'content-type': format === 'jsonl' ? 'application/x-ndjson' : 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="audit.${format}"`,
      'cache-control': 'no-store',
    },
  })
}

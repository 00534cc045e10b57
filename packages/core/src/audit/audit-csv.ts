import type { AuditEvent } from '../ports/storage.js'

// The audit trail as CSV, the one format the admin API's export and the console's share. Cells that
// a spreadsheet would run as a formula are made inert (S36).

/** The columns of an audit CSV, in order. */
export const AUDIT_CSV_COLUMNS = [
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

/** One CSV cell: objects as JSON, a leading `= + - @`, tab or carriage return quoted away (S36). */
export function csvCell(value: unknown): string {
  let text =
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** One event as a CSV line (with its newline); times in ISO 8601. */
export function auditCsvLine(event: AuditEvent): string {
  return `${AUDIT_CSV_COLUMNS.map((column) => csvCell(column === 'at' ? new Date(event.at).toISOString() : event[column])).join(',')}\n`
}

/**
 * Every event `list` yields for `filters`, as CSV (with its header) or JSON Lines, read one page per
 * pull: a long trail streams at the reader's pace instead of filling memory first. The admin API's
 * export and the console's share it.
 */
export function auditExportStream<F extends object>(
  list: (page: F & { readonly after?: number; readonly limit: number }) => Promise<{
    events: AuditEvent[]
    next: number | null
  }>,
  filters: F & { readonly after?: number },
  format: 'csv' | 'jsonl',
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const line = (event: AuditEvent) =>
    format === 'jsonl'
      ? `${JSON.stringify({ ...event, at: new Date(event.at).toISOString() })}\n`
      : auditCsvLine(event)
  let after = filters.after
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (format === 'csv') controller.enqueue(encoder.encode(`${AUDIT_CSV_COLUMNS.join(',')}\n`))
    },
    async pull(controller) {
      const page = await list({ ...filters, limit: 500, ...(after !== undefined ? { after } : {}) })
      controller.enqueue(encoder.encode(page.events.map(line).join('')))
      if (page.next === null) controller.close()
      else after = page.next
    },
  })
}

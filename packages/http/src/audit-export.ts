import { type AccountHandle, type AuditFilters, auditExportStream } from '@flexsecure/core'

/** Every matching event as JSON Lines or CSV (cells made inert, S36), streamed a page at a time. */
export function exportAudit(
  account: AccountHandle,
  filters: AuditFilters,
  format: 'jsonl' | 'csv',
): Response {
  return new Response(auditExportStream(account.audit.list, filters, format), {
    headers: {
      'content-type': format === 'jsonl' ? 'application/x-ndjson' : 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="audit.${format}"`,
      'cache-control': 'no-store',
    },
  })
}

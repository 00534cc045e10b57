/**
 * Why a request to a provider got no answer, for a delivery's `lastError`: `timed out`, or the system's
 * error code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`…) that fetch keeps in its `cause`, never the
 * address or the message around it; else the error's name.
 */
export function whyUnreachable(error: unknown): string {
  const name = (error as Error)?.name ?? 'error'
  if (name === 'TimeoutError') return 'timed out'
  const code = (error as { cause?: { code?: unknown } })?.cause?.code
  return typeof code === 'string' && /^E[A-Z_]{2,30}$/.test(code) ? code : name
}

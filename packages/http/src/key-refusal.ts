/**
 * The body of the 403 for a request whose `apikey` header names no usable key. The reason is
 * `invalid_key` either way; when the header is missing altogether, `error` says where the key goes, the
 * mistake an integrator makes first: the key sent as `Authorization: Bearer`, in a cookie or in the URL
 * (which the API never reads, S22), or not at all. It tells the caller nothing it did not send.
 */
export function invalidKey(request: Request): {
  result: 'security error'
  reason: 'invalid_key'
  error?: string
} {
  const refusal = { result: 'security error', reason: 'invalid_key' } as const
  if (request.headers.has('apikey')) return refusal
  return {
    ...refusal,
    error:
      'no apikey header: send the API key in a header named apikey (not Authorization, a cookie or the URL)',
  }
}

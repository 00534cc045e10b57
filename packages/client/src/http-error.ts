/**
 * Thrown when FlexSecure answers outside the documented results (a 400, 404, 409, 413, 415, a 5xx,
 * a body that is not JSON) or no answer arrives at all (`status` 0).
 */
export class FlexSecureHttpError extends Error {
  override readonly name = 'FlexSecureHttpError'
  constructor(
    /** The HTTP status, or 0 when the request failed before any response. */
    readonly status: number,
    /** The parsed JSON body, the raw text when it was not JSON, or undefined without a response. */
    readonly body: unknown,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

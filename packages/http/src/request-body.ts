/** A request refused before it reaches the engine, with the status and body the contract gives it. */
export class BadRequest extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

/** 64 KiB (S28): the most any route reads. */
export const MAX_BODY_BYTES = 64 * 1024

/** What the transport knows about the connection a request came on; a web-standard Request does not say. */
export interface ConnectionInfo {
  readonly remoteAddress?: string
  /**
   * The transport holds every body to its declared Content-Length (node:http does). Such a body, declared
   * within the cap, is read whole, which costs far less than a stream; without this promise every body
   * is streamed and counted, since a hand-built Request's Content-Length can say anything.
   */
  readonly bodyLengthEnforced?: boolean
}

/** The declared Content-Length, or null when there is none or it is not a number. */
export function declaredLength(request: Request): number | null {
  const header = request.headers.get('content-length')
  return header !== null && /^\d+$/.test(header) ? Number(header) : null
}

export const tooLarge = (limit: number) => new BadRequest(413, `body is larger than ${limit} bytes`)

/**
 * The body as text, refused with 413 as soon as it passes `limit` bytes (S30): a declared length over
 * the limit is refused unread, and a stream (chunked, or with a length that may lie) is read chunk by
 * chunk and abandoned at the limit, so no more than the limit and one chunk is ever held.
 */
export async function readBodyText(
  request: Request,
  limit: number,
  connection?: ConnectionInfo,
): Promise<string> {
  const declared = declaredLength(request)
  if (declared !== null && declared > limit) throw tooLarge(limit)
  try {
    if (declared !== null && connection?.bodyLengthEnforced) return await request.text()
    if (!request.body) return ''
    return await readCounted(request.body.getReader(), limit)
  } catch (error) {
    if (error instanceof BadRequest) throw error
    // The client went away mid-body, or sent bytes its framing does not allow: its fault, not ours.
    throw new BadRequest(400, 'the body could not be read')
  }
}

async function readCounted(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      // Stop here, and leave the rest to the transport: cancelling a node:http body destroys the
      // socket before the 413 can go out (the server's listener closes it once the answer is read).
      reader.releaseLock()
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

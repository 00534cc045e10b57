import type { z } from 'zod'
import { describeIssue } from './schemas.js'

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

/** 64 KiB (S28). */
export const MAX_BODY_BYTES = 64 * 1024

/** Reads a JSON body within the size limit, refusing a wrong content type, bad JSON or a bad shape. */
export async function readJson<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new BadRequest(415, 'content-type must be application/json')
  const declared = Number(request.headers.get('content-length') ?? 0)
  if (declared > MAX_BODY_BYTES) throw new BadRequest(413, `body is larger than ${MAX_BODY_BYTES} bytes`)
  const text = await readLimited(request)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BadRequest(400, 'body is not valid JSON')
  }
  const polluting = findForbiddenKey(value, '')
  if (polluting !== null) throw new BadRequest(400, `${polluting}: this key is not allowed`, polluting)
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const { error, field } = describeIssue(parsed.error)
    throw new BadRequest(400, error, field)
  }
  return parsed.data
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * S28: prototype-polluting keys are refused wherever they appear. Checked on the parsed JSON,
 * before any schema copies it: copying `__proto__` into a new object would set its prototype.
 */
function findForbiddenKey(value: unknown, path: string): string | null {
  if (typeof value !== 'object' || value === null) return null
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key
    if (FORBIDDEN_KEYS.has(key)) return here
    const found = findForbiddenKey((value as Record<string, unknown>)[key], here)
    if (found) return found
  }
  return null
}

/** The body as text, stopping as soon as it passes the limit (a chunked body declares no length). */
async function readLimited(request: Request): Promise<string> {
  // A declared length was checked against the limit already, and a body cannot exceed it, so read it
  // whole: cheaper than a stream, which node listeners build only when one is asked for.
  if (request.headers.has('content-length')) {
    const text = await request.text()
    // Node's parser holds a body to its declared length; a hand-built Request need not, so check.
    if (Buffer.byteLength(text) > MAX_BODY_BYTES)
      throw new BadRequest(413, `body is larger than ${MAX_BODY_BYTES} bytes`)
    return text
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY_BYTES) {
      await reader.cancel()
      throw new BadRequest(413, `body is larger than ${MAX_BODY_BYTES} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

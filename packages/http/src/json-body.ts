import type { z } from 'zod'
import { BadRequest, type ConnectionInfo, MAX_BODY_BYTES, readBodyText } from './request-body.js'
import { describeIssue } from './schemas.js'

/** S30: the deepest body a schema accepts is 6 levels (a rule's `when.timeIn.days`); 8 leaves room. */
export const MAX_JSON_DEPTH = 8

/** Reads a JSON body within the size limit, refusing a wrong content type, bad JSON or a bad shape. */
export async function readJson<T extends z.ZodType>(
  request: Request,
  schema: T,
  connection?: ConnectionInfo,
): Promise<z.infer<T>> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new BadRequest(415, 'content-type must be application/json')
  const text = await readBodyText(request, MAX_BODY_BYTES, connection)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BadRequest(400, 'body is not valid JSON')
  }
  refuseHostileShape(value)
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const { error, field } = describeIssue(parsed.error, value)
    throw new BadRequest(400, error, field)
  }
  return parsed.data
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * S28, S30: refuses nesting deeper than `MAX_JSON_DEPTH` and prototype-polluting keys wherever they
 * appear. Checked on the parsed JSON, before any schema copies it (copying `__proto__` into a new object
 * would set its prototype), and without recursion: a 64 KiB body can nest 32,000 levels deep.
 */
function refuseHostileShape(root: unknown): void {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path, depth } = next
    if (typeof value !== 'object' || value === null) continue
    if (depth >= MAX_JSON_DEPTH)
      throw new BadRequest(400, `body is nested deeper than ${MAX_JSON_DEPTH} levels`, path || 'body')
    for (const key of Object.keys(value)) {
      const here = path ? `${path}.${key}` : key
      if (FORBIDDEN_KEYS.has(key)) throw new BadRequest(400, `${here}: this key is not allowed`, here)
      pending.push({ value: (value as Record<string, unknown>)[key], path: here, depth: depth + 1 })
    }
  }
}

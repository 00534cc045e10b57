import { z } from 'zod'

/** The ids of the contract's named shapes, in the order they were named. */
const ids = new Set<string>()

/**
 * Names `schema` in the HTTP contract: `#/components/schemas/<id>` in the OpenAPI document and a type of
 * that name in `@flexsecure/client`; the description becomes both documents' text.
 */
export function named<T extends z.ZodType>(id: string, description: string, schema: T): T {
  if (ids.has(id)) throw new Error(`the contract names ${id} twice`)
  ids.add(id)
  return schema.meta({ id, description }) as T
}

/** A JSON date: what `JSON.stringify` writes for a `Date` (ISO 8601, UTC). */
export const Instant = z.iso.datetime()

/**
 * Every named shape as a JSON Schema (draft 2020-12), referring to the others by `uri(id)`: the source of
 * the OpenAPI document's components and of the client's types.
 */
export function contractJsonSchemas(uri: (id: string) => string): Record<string, Record<string, unknown>> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { uri, target: 'draft-2020-12', io: 'input' })
  const out: Record<string, Record<string, unknown>> = {}
  for (const id of ids) {
    const { $schema: _schema, $id: _id, ...schema } = schemas[id] as Record<string, unknown>
    out[id] = schema
  }
  return out
}

import { z } from 'zod'

/**
 * The contract's named shapes. A registry of its own, not zod's global one, so that an application
 * embedding the server can name its own schemas `User` or `System` without a clash.
 */
const contract = z.registry<{ id: string; description: string }>()
/** The ids in the order they were named (the order of the document and of the client's types). */
const ids = new Map<string, string>()

/**
 * Names `schema` in the HTTP contract: `#/components/schemas/<id>` in the OpenAPI document and a type of
 * that name in `@flexsecure/client`; the description becomes both documents' text.
 */
export function named<T extends z.ZodType>(id: string, description: string, schema: T): T {
  if (ids.has(id) || contract.has(schema)) throw new Error(`the contract names ${id} twice`)
  ids.set(id, description)
  contract.add(schema, { id, description })
  return schema
}

/** The name and description a shape has in the contract, if it has one. */
export const nameOf = (schema: z.ZodType) => contract.get(schema)

/** A JSON date: what `JSON.stringify` writes for a `Date` (ISO 8601, UTC). */
export const Instant = z.iso.datetime()

/**
 * Every named shape as a JSON Schema (draft 2020-12), referring to the others by `uri(id)`: the source of
 * the OpenAPI document's components and of the client's types.
 */
export function contractJsonSchemas(uri: (id: string) => string): Record<string, Record<string, unknown>> {
  const { schemas } = z.toJSONSchema(contract, { uri, target: 'draft-2020-12', io: 'input' })
  const out: Record<string, Record<string, unknown>> = {}
  for (const [id, description] of ids) {
    const { $schema: _schema, $id: _id, ...schema } = schemas[id] as Record<string, unknown>
    out[id] = { description, ...schema }
  }
  return out
}

import { type Compilable, type RawBuilder, sql } from 'kysely'

// Hot queries are built with Kysely once, at storage construction, and only their parameters change
// per call (docs/architecture.md, "The hot path"). A query is built with `param('name')` placeholders; compiling
// records where each one landed in the parameter list.

const MARK = '\u0001fs-param:'

/** A named placeholder for a value supplied at run time. Typed as whatever the column wants. */
export function param<T = never>(name: string): T {
  return `${MARK}${name}` as T
}

/** A query compiled once: its SQL, and how to lay out a call's named values as its parameters. */
export interface PreparedQuery<Args extends object = Record<string, unknown>> {
  readonly sql: string
  bind(args: Args): unknown[]
}

/** Compiles a Kysely query built with `param()` placeholders. */
export function prepare<Args extends object>(query: Compilable): PreparedQuery<Args> {
  const compiled = query.compile()
  type Slot = { readonly name: string } | { readonly name: null; readonly value: unknown }
  const slots: Slot[] = compiled.parameters.map((value) =>
    typeof value === 'string' && value.startsWith(MARK)
      ? { name: value.slice(MARK.length) }
      : { name: null, value },
  )
  return {
    sql: compiled.sql,
    bind(args) {
      return slots.map((slot) => {
        if (slot.name === null) return 'value' in slot ? slot.value : undefined
        const value = (args as Record<string, unknown>)[slot.name]
        if (value === undefined) throw new TypeError(`no value for query parameter '${slot.name}'`)
        return value
      })
    },
  }
}

/**
 * A list of constants written into the SQL text, `('pending', 'confirmed')`, instead of bound
 * parameters: SQLite uses a partial index only when the query's WHERE visibly implies the index's,
 * and a bound `?` proves nothing at prepare time (the expiry sweep, the outbox claim and the history
 * read depend on their partial indexes).
 */
export function literals(values: readonly string[]): RawBuilder<string> {
  return sql<string>`(${sql.join(values.map((value) => sql.lit(value)))})`
}

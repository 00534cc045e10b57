import { describe, expect, it } from 'vitest'
import { columnsOf } from './row-mapping.js'

describe('columnsOf', () => {
  const user = columnsOf('u', ['id', 'email', 'display_name'], 'id')

  it("reads one alias's columns out of a joined row, without the prefix", () => {
    const row = { u_id: 'u1', u_email: 'a@example.com', u_display_name: null, s_id: 's1', s_email: 'other' }
    expect(user(row)).toEqual({ id: 'u1', email: 'a@example.com', display_name: null })
  })

  it('is null when the join found nothing (the key column is null or absent)', () => {
    expect(user({ u_id: null, u_email: null, u_display_name: null })).toBeNull()
    expect(user({ s_id: 's1' })).toBeNull()
  })

  it('keeps a column the row lacks as undefined, as a copy would', () => {
    const row = user({ u_id: 'u1' })
    expect(row).toEqual({ id: 'u1', email: undefined, display_name: undefined })
    expect(Object.keys(row ?? {})).toEqual(['id', 'email', 'display_name'])
  })

  it('takes column names as data, never as code', () => {
    const odd = columnsOf('x', ['a"b', "c'd", 'e\\f', 'g}; throw 1; {'], 'a"b')
    const row = { 'x_a"b': 1, "x_c'd": 2, 'x_e\\f': 3, 'x_g}; throw 1; {': 4 }
    expect(odd(row)).toEqual({ 'a"b': 1, "c'd": 2, 'e\\f': 3, 'g}; throw 1; {': 4 })
  })

  it('copies the columns where code cannot be compiled from strings', () => {
    const compile = globalThis.Function
    // What --disallow-code-generation-from-strings makes `new Function` do.
    globalThis.Function = function refused() {
      throw new EvalError('Code generation from strings disallowed for this context')
    } as unknown as FunctionConstructor
    let copy: ReturnType<typeof columnsOf>
    try {
      copy = columnsOf('u', ['id', 'email'], 'id')
    } finally {
      globalThis.Function = compile
    }
    expect(copy({ u_id: 'u1', u_email: 'a@example.com', s_id: 's1' })).toEqual({
      id: 'u1',
      email: 'a@example.com',
    })
    expect(copy({ u_id: null })).toBeNull()
  })

  it('refuses a column named __proto__, which an object literal would take as the prototype', () => {
    expect(() => columnsOf('x', ['id', '__proto__'], 'id')).toThrow(/__proto__/)
  })
})

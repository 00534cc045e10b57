// Reporting shared by the benchmarks: medians, number formatting, text tables, wrapped lists.

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** A number with thousands separators and `digits` decimals, as every table prints them. */
export const fmt = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** `min`, `median` and `max` of `values`, formatted with `digits`. */
export const spread = (values: readonly number[], digits = 0) =>
  [Math.min(...values), median(values), Math.max(...values)].map((v) => fmt(v, digits))

/** A text table; `align` has one letter per column, `l` or `r`. */
export function table(
  align: string,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) =>
        align[i] === 'r' ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number),
      )
      .join('   ')
      .trimEnd()
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`).join('\n')
}

/** Joins `items` with `, `, breaking lines before `width` and indenting the continuations. */
export function wrap(first: string, items: readonly string[], indent: string, width = 108): string {
  const lines = [first]
  for (const [i, item] of items.entries()) {
    const piece = i < items.length - 1 ? `${item},` : item
    const current = lines[lines.length - 1] as string
    if (current.length + 1 + piece.length > width && current.trim().length > 0)
      lines.push(`${indent}${piece}`)
    else lines[lines.length - 1] = `${current}${current.endsWith(' ') ? '' : ' '}${piece}`
  }
  return lines.join('\n')
}

/** A short name for a statement: its verb and table, e.g. `UPDATE fs_assignments`. */
export function describeStatement(source: string): string {
  const text = source.replace(/["`]/g, '').replace(/\s+/g, ' ').trim()
  const match =
    /^(insert) into (\w+)/i.exec(text) ??
    /^(update) (\w+)/i.exec(text) ??
    /^(delete) from (\w+)/i.exec(text) ??
    /^(select) .*? from (\w+)/i.exec(text)
  if (!match) return text.split(' ').slice(0, 2).join(' ').toUpperCase()
  const joins = (text.match(/\bjoin\b/gi) ?? []).length
  return [
    `${(match[1] as string).toUpperCase()} ${match[2]}`,
    joins > 0 ? ` +${joins} join${joins > 1 ? 's' : ''}` : '',
    /\breturning\b/i.test(text) ? ' RETURNING' : '',
    /\bon conflict\b/i.test(text) ? ' ON CONFLICT' : '',
  ].join('')
}

/** What a counting pass keeps of the statements one step ran. */
export interface StatementTally {
  statements: number
  reads: number
  /** Statements run outside BEGIN ... COMMIT: each is a transaction of its own. */
  autocommit: number
  transactions: number
  rollbacks: number
  /** What ran, in order, BEGIN and COMMIT included. */
  sql: string[]
}

/** Counts statement `source` into `count`; returns whether a transaction is open after it. */
export function tallyStatement(count: StatementTally, source: string, inTransaction: boolean): boolean {
  const verb = /^\s*(\w+)/.exec(source)?.[1]?.toUpperCase() ?? ''
  if (verb === 'BEGIN' || verb === 'START') {
    count.transactions++
    count.sql.push(source.trim().toUpperCase())
    return true
  }
  if (verb === 'COMMIT' || verb === 'END' || verb === 'ROLLBACK') {
    if (verb === 'ROLLBACK') count.rollbacks++
    count.sql.push(verb)
    return false
  }
  count.statements++
  if (verb === 'SELECT') count.reads++
  if (!inTransaction) count.autocommit++
  count.sql.push(describeStatement(source))
  return inTransaction
}

import type { Engine } from '@flexsecure/core'

/** Counters for `GET /metrics`, in the Prometheus text format, kept per account (S38). */
export interface Metrics {
  count(name: 'starts' | 'checks', result: string, accountId: string): void
  /** Every account's figures added up (the operator's view), or one account's (its admin's view). */
  render(accountId?: string): string
}

const HELP = {
  flexsecure_starts_total: 'start calls by result',
  flexsecure_checks_total: 'check calls by result (pending polls included)',
  flexsecure_deliveries_total: 'messages handed to the notifier, by status',
} as const

/** What a storage that groups transactions into commits has done since it opened. */
export interface CommitStats {
  /** Commits, each of one or more transactions (group commit). */
  readonly batches: number
  /** Transactions and statements committed in them. */
  readonly jobs: number
  /** Syncs of the database's log to the disk, of them `inlineSyncs` on the event loop's thread. */
  readonly syncs: number
  readonly inlineSyncs: number
}

/** The `# HELP` and `# TYPE` lines of a counter. */
const header = (name: string, help: string) => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`]

/**
 * A storage's counters (`CommitStats`), for the operator's view only: they are the whole database's,
 * not an account's (S38). Nothing for a storage that keeps none.
 */
export function storageMetrics(stats: CommitStats | undefined): string {
  if (!stats) return ''
  return `${[
    ...header('flexsecure_storage_commits_total', 'database commits, each of one or more transactions'),
    `flexsecure_storage_commits_total ${stats.batches}`,
    ...header('flexsecure_storage_transactions_total', 'transactions and statements committed'),
    `flexsecure_storage_transactions_total ${stats.jobs}`,
    ...header('flexsecure_storage_syncs_total', "syncs of the database's log to the disk, by thread"),
    `flexsecure_storage_syncs_total{thread="event loop"} ${stats.inlineSyncs}`,
    `flexsecure_storage_syncs_total{thread="pool"} ${stats.syncs - stats.inlineSyncs}`,
  ].join('\n')}\n`
}

export function metrics(engine: Engine): Metrics {
  // name → account → labels → count
  const counters = new Map<string, Map<string, Map<string, number>>>(
    Object.keys(HELP).map((name) => [name, new Map()]),
  )
  const bump = (name: keyof typeof HELP, accountId: string, label: string, value: string) => {
    const accounts = counters.get(name) as Map<string, Map<string, number>>
    const series = accounts.get(accountId) ?? accounts.set(accountId, new Map()).get(accountId)
    const key = `${label}="${value.replace(/["\\\n]/g, '_')}"`
    series?.set(key, (series.get(key) ?? 0) + 1)
  }
  engine.events.on('challenge.delivery', (event) =>
    bump('flexsecure_deliveries_total', event.accountId, 'status', event.status),
  )
  return {
    count: (name, result, accountId) =>
      bump(
        name === 'starts' ? 'flexsecure_starts_total' : 'flexsecure_checks_total',
        accountId,
        'result',
        result,
      ),
    render(accountId) {
      const lines: string[] = []
      for (const [name, help] of Object.entries(HELP)) {
        lines.push(...header(name, help))
        const totals = new Map<string, number>()
        for (const [account, series] of counters.get(name) ?? [])
          if (accountId === undefined || account === accountId)
            for (const [labels, value] of series) totals.set(labels, (totals.get(labels) ?? 0) + value)
        for (const [labels, value] of totals) lines.push(`${name}{${labels}} ${value}`)
      }
      return `${lines.join('\n')}\n`
    },
  }
}

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
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
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

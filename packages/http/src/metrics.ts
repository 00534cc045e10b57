import type { Engine } from '@flexsecure/core'

/** Counters for `GET /metrics`, in the Prometheus text format. */
export interface Metrics {
  count(name: 'starts' | 'checks', result: string): void
  render(): string
}

const HELP = {
  flexsecure_starts_total: 'start calls by result',
  flexsecure_checks_total: 'check calls by result (pending polls included)',
  flexsecure_deliveries_total: 'messages handed to the notifier, by status',
} as const

export function metrics(engine: Engine): Metrics {
  const counters = new Map<string, Map<string, number>>(Object.keys(HELP).map((name) => [name, new Map()]))
  const bump = (name: keyof typeof HELP, label: string, value: string) => {
    const series = counters.get(name) as Map<string, number>
    const key = `${label}="${value.replace(/["\\\n]/g, '_')}"`
    series.set(key, (series.get(key) ?? 0) + 1)
  }
  engine.events.on('challenge.delivery', (event) =>
    bump('flexsecure_deliveries_total', 'status', event.status),
  )
  return {
    count: (name, result) =>
      bump(name === 'starts' ? 'flexsecure_starts_total' : 'flexsecure_checks_total', 'result', result),
    render() {
      const lines: string[] = []
      for (const [name, help] of Object.entries(HELP)) {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
        for (const [labels, value] of counters.get(name) ?? []) lines.push(`${name}{${labels}} ${value}`)
      }
      return `${lines.join('\n')}\n`
    },
  }
}

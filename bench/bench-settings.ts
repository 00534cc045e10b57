// What every benchmark shares in its set-up: how it reads its settings, the account settings that keep
// the throttles out of what it measures, and the configuration of the server the HTTP benches start.

import type { ServerConfig } from '@flexsecure/server'

/** A positive whole number from the environment variable `name`, or `fallback` when it is unset. */
export function setting(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}

/**
 * The benches measure the flow, not the throttle: the send limits (S18) are lifted far above their
 * load, and the resend cooldown is off because the same users start again within seconds (with it on,
 * a start runs one more counter upsert; bench/README.md).
 */
export const LIFTED_SEND_LIMITS = {
  perUserPerHour: 10_000_000,
  perDestinationPerHour: 10_000_000,
  perAccountPerDay: 10_000_000,
  resendCooldownSeconds: 0,
} as const

/** SQLite's `synchronous` levels the benches compare (WAL mode): FULL is FlexSecure's default (S37). */
export type Synchronous = 'normal' | 'full'

/**
 * FlexSecure's `synchronous` modes to measure, from `BENCH_SYNCHRONOUS`: `full` (the default, S37's durable
 * setting and the engine's default), `normal`, or both comma-separated.
 */
export function synchronousModes(): Synchronous[] {
  const raw = process.env.BENCH_SYNCHRONOUS || 'full'
  const modes = raw.split(',').map((m) => m.trim().toLowerCase())
  for (const mode of modes)
    if (mode !== 'normal' && mode !== 'full')
      throw new Error(`BENCH_SYNCHRONOUS: '${mode}' is not normal or full`)
  return [...new Set(modes)] as Synchronous[]
}

/**
 * The configuration the HTTP benches start `startServer` with: `database`, an ephemeral port on loopback,
 * no provider (the bench passes its own notifier) and a secret from the environment.
 */
export function benchServerConfig(database: string): ServerConfig {
  return {
    database,
    host: '127.0.0.1',
    port: 0,
    baseUrl: null,
    secret: 'x'.repeat(40),
    secretSource: 'environment',
    sweepSeconds: 3600,
    smtpUrl: null,
    mailFrom: 'bench <bench@localhost>',
    twilio: null,
  }
}

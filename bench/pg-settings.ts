// The PostgreSQL flow bench's settings (`BENCH_PG_*`, README.md "PostgreSQL flow", Settings) and the
// fixed sizes of its runs, shared by its parts: pg-contenders.ts, pg-processes.ts, pg-monitor.ts,
// pg-counting.ts and the bench itself, pg-flow.bench.ts.

import { setting } from './bench-settings.js'

export const TARGET = 0.33
export const SERVER_URL = process.env.FLEXSECURE_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
export const ROUNDS = setting('BENCH_PG_ROUNDS', 5)
export const SECONDS = setting('BENCH_PG_SECONDS', 3)
export const PROCESSES = setting('BENCH_PG_PROCESSES', 4)
export const USERS = setting('BENCH_PG_USERS', 1000)
export const POOL = setting('BENCH_PG_POOL', 4)
/** Logins in flight in each process: workers of their own, each logging in users no other one touches. */
export const IN_FLIGHT = setting('BENCH_PG_IN_FLIGHT', 1)
/**
 * `BENCH_PG_BATCHING=0`: the engine's storage with `batching: false` (one row per statement, each delivery
 * outcome in a transaction of its own), to measure what PostgreSQL gains from batching.
 */
export const BATCHING = process.env.BENCH_PG_BATCHING !== '0'
export const SAMPLE_MS = setting('BENCH_PG_SAMPLE_MS', 20)
/**
 * A diagnostic, off by default: each engine process of the multi-process runs logs in users of an account of
 * its own, so no two processes share the account's hot rows (its audit head, its send counter).
 */
export const SPLIT_ACCOUNTS = process.env.BENCH_PG_SPLIT_ACCOUNTS === '1'
/** A directory: the child processes run with `--cpu-prof`, writing to its `engine/` and `floor/`. */
export const CPU_PROF = process.env.BENCH_PG_CPU_PROF || null
export const FLOOR_WARMUP = 1000
/** Engine logins before timing: at least one lap over the users, in this process; a quarter in each child. */
export const ENGINE_WARMUP = 1000
/** The counting pass: a first lap gives every user a challenge, a second lap is counted. */
export const COUNTED_USERS = 200
/** Floor logins whose WAL is measured. */
export const COUNTED_FLOOR_LOGINS = 400
/** Users created at once while seeding (not timed). */
export const SEED_BATCH = 8

export const SYSTEM = 'app'
export const SECRET = 'bench-secret-bench-secret-bench-secret'
export const BASE_URL = 'https://auth.example.com'
export const LIFETIME_MS = 15 * 60 * 1000

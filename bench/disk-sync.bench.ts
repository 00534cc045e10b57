// What one durable commit costs on this disk, with no database around it: append N pages of WAL-sized
// frames to a preallocated file, then `fdatasync` it, on the main thread and through libuv's pool (the
// SQLite executor does either, `adapters/kysely/src/sync-placement.ts`). A login at synchronous=FULL
// waits for one such sync at least (S37), so this is the floor under a login at 1 in flight that no
// engine change can lower. It also prints the CPU a sync costs the process (the kernel's writeback, on whichever thread).
// Run it with `pnpm bench:disk` in bench/. See README.md, "What a sync costs on this disk".

import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fmt, spread, table } from './bench-report.js'
import { setting } from './bench-settings.js'
import { loadLine, loadNow, machineLine } from './login-harness.js'

const ROUNDS = setting('BENCH_DISK_ROUNDS', 5)
const SYNCS = setting('BENCH_DISK_SYNCS', 200)
/** Pages appended before each sync: a link login's start writes about 13, a whole login about 31. */
const PAGES = [1, 13, 31, 100] as const
/** A WAL frame: a 24-byte header and a 4,096-byte page. */
const FRAME = 24 + 4096
const FILE_SIZE = 64 * 1024 * 1024

type Way = 'main thread' | "libuv's pool"
const WAYS: readonly Way[] = ['main thread', "libuv's pool"]

interface Run {
  /** Median µs of one sync. */
  readonly syncUs: number
  /** The process's CPU µs per append and sync. */
  readonly cpuUs: number
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-bench-disk-'))
  const file = join(dir, 'wal')
  const fd = openSync(file, 'w+')
  const handle = await open(file, 'r+')
  try {
    // Written through and synced, as a WAL that has started over is: a sync then writes data into blocks
    // the file already has. (A file only extended with ftruncate is sparse on ext4: each write would
    // allocate blocks, and its sync commit their extents to the journal, 50-70 µs more a sync here.)
    const chunk = Buffer.alloc(1024 * 1024)
    for (let at = 0; at < FILE_SIZE; at += chunk.length) writeSync(fd, chunk, 0, chunk.length, at)
    fdatasyncSync(fd)
    const frames = Buffer.alloc(FRAME * Math.max(...PAGES), 7)
    let at = 0
    const append = (pages: number) => {
      if (at + pages * FRAME > FILE_SIZE) at = 0
      writeSync(fd, frames, 0, pages * FRAME, at)
      at += pages * FRAME
    }
    const measure = async (way: Way, pages: number): Promise<Run> => {
      const times: number[] = []
      const cpuFrom = process.cpuUsage()
      for (let i = 0; i < SYNCS; i++) {
        append(pages)
        const began = process.hrtime.bigint()
        if (way === 'main thread') fdatasyncSync(fd)
        else await handle.datasync()
        times.push(Number(process.hrtime.bigint() - began) / 1000)
      }
      const cpu = process.cpuUsage(cpuFrom)
      times.sort((a, b) => a - b)
      return { syncUs: times[times.length >> 1] as number, cpuUs: (cpu.user + cpu.system) / SYNCS }
    }

    console.log(
      [
        'FlexSecure bench: what one fdatasync costs on this disk (no database)',
        `  node ${process.version}, ${machineLine()}, libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 'default'} threads`,
        `  a ${FILE_SIZE / 1024 / 1024} MiB preallocated file in ${tmpdir()}; N WAL frames (${FRAME} bytes) appended, then synced;`,
        `  ${ROUNDS} interleaved rounds of ${SYNCS} syncs per cell; min / median / max of the rounds' medians`,
        '',
      ].join('\n'),
    )
    const runs = new Map<string, Run[]>()
    const loads: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const ways = round % 2 === 0 ? WAYS : [...WAYS].reverse()
      for (const pages of PAGES)
        for (const way of ways) {
          const key = `${pages}|${way}`
          runs.set(key, [...(runs.get(key) ?? []), await measure(way, pages)])
        }
      loads.push(Number(loadNow().split(' ')[0]))
    }
    console.log(
      table(
        'rlrrrr',
        ['pages', 'sync on', 'min µs', 'median µs', 'max µs', 'CPU µs a sync'],
        PAGES.flatMap((pages) =>
          WAYS.map((way) => {
            const cell = runs.get(`${pages}|${way}`) ?? []
            return [
              String(pages),
              way,
              ...spread(cell.map((r) => r.syncUs)),
              fmt(Math.min(...cell.map((r) => r.cpuUs))),
            ]
          }),
        ),
      ),
    )
    console.log(
      [
        '',
        '  CPU µs a sync: the lowest round of the process CPU (all threads) per append and sync',
        loadLine(loads),
      ].join('\n'),
    )
  } finally {
    await handle.close()
    closeSync(fd)
    rmSync(dir, { recursive: true, force: true })
  }
}

await main().catch((error: unknown) => {
  console.error('\nFAIL:', error)
  process.exitCode = 1
})

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// Issue 16 item 4: the server sizes libuv's thread pool for the machine, before anything starts it, and
// on two cores or fewer has V8 scavenge on the main thread alone. bin/flexsecure.js requires
// bin/thread-pool.js first; here a child process does the same with `-r`.

const threadPool = new URL('../bin/thread-pool.js', import.meta.url).pathname
const { threadPoolSize, scavengeAlone } = createRequire(import.meta.url)(threadPool) as {
  threadPoolSize: (cores: number) => number
  scavengeAlone: (cores: number, execArgv: readonly string[]) => boolean
}
const dir = mkdtempSync(join(tmpdir(), 'flexsecure-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * In a child that loaded thread-pool.js: holds `busy` pool threads with reads of FIFOs nobody writes
 * yet, then asks for a stat, and releases the FIFOs 500 ms later. The stat answers before the release
 * only when the pool has a thread left.
 */
function probe(busy: number, env: Record<string, string | undefined> = {}) {
  const script = `
    const fs = require('node:fs'); const { execFileSync } = require('node:child_process')
    const fifos = Array.from({ length: ${busy} }, (_, i) => ${JSON.stringify(dir)} + '/fifo' + process.pid + '-' + i)
    for (const fifo of fifos) { execFileSync('mkfifo', [fifo]); fs.readFile(fifo, () => {}) }
    const order = []
    fs.stat('/', () => { order.push('stat'); if (order.length === 2) done() })
    setTimeout(() => {
      order.push('released')
      for (const fifo of fifos) { const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); fs.closeSync(fd) }
      if (order.length === 2) done()
    }, 500)
    const done = () => { console.log(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE, order })); process.exit(0) }
  `
  const output = execFileSync(process.execPath, ['-r', threadPool, '-e', script], {
    env: { ...process.env, UV_THREADPOOL_SIZE: undefined, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  })
  return JSON.parse(output) as { size: string; order: string[] }
}

describe("libuv's thread pool in the server", () => {
  it('has one thread fewer than the cores, at least one', () => {
    expect([1, 2, 4, 16].map(threadPoolSize)).toEqual([1, 1, 3, 15])
  })

  it('is that size in the process, set before the pool started', () => {
    const size = threadPoolSize(availableParallelism())
    // Every thread held: the stat waits for a release. One thread fewer held: it answers at once.
    expect(probe(size)).toEqual({ size: String(size), order: ['released', 'stat'] })
    expect(probe(size - 1).order).toEqual(['stat', 'released'])
  }, 30_000)

  it("keeps an operator's own UV_THREADPOOL_SIZE", () => {
    expect(probe(5, { UV_THREADPOOL_SIZE: '6' })).toEqual({ size: '6', order: ['stat', 'released'] })
  }, 30_000)
})

/**
 * The ms V8's helper threads spent in parallel scavenges, in a child that loaded thread-pool.js (with
 * `flags` before it on node's command line) and then allocated enough for about ten scavenges, each with
 * survivors to copy: from `--trace-gc-nvp`'s `background.scavenge.parallel`, 0 when no helper took part.
 * On a machine with more than two cores the child runs on two of them (`taskset`: node counts the cores
 * its affinity allows), so that the two-core case is what runs everywhere.
 */
function helpersScavenging(flags: readonly string[] = []): number {
  const script = `
    const ring = new Array(300000)
    for (let i = 0; i < 4e6; i++) ring[i % ring.length] = { i, a: [i] }
  `
  const node = [process.execPath, ...flags, '--trace-gc-nvp', '-r', threadPool, '-e', script]
  const [command, ...args] = availableParallelism() > 2 ? ['taskset', '-c', '0,1', ...node] : node
  const output = execFileSync(command as string, args, { encoding: 'utf8', timeout: 60_000 })
  const times = [...output.matchAll(/background\.scavenge\.parallel=([0-9.]+)/g)].map((match) =>
    Number(match[1]),
  )
  if (times.length === 0) throw new Error(`no scavenge was traced:\n${output.slice(0, 500)}`)
  return times.reduce((sum, ms) => sum + ms, 0)
}

describe("V8's scavenges in the server", () => {
  it('run on the main thread alone on two cores or fewer, unless node was told otherwise', () => {
    expect([1, 2, 3, 16].map((cores) => scavengeAlone(cores, []))).toEqual([true, true, false, false])
    expect(scavengeAlone(2, ['--max-old-space-size=512'])).toBe(true)
    for (const flag of [
      '--parallel-scavenge',
      '--parallel_scavenge',
      '--no-parallel-scavenge',
      '--noparallel-scavenge',
      '--single-threaded-gc',
    ])
      expect(scavengeAlone(2, [flag])).toBe(false)
    // Another flag whose name begins the same is not the operator's choice about scavenges.
    expect(scavengeAlone(2, ['--single-threaded-gc-in-background'])).toBe(true)
  })

  it('run that way in the process on two cores', () => {
    expect(helpersScavenging()).toBe(0)
    // The operator's flag is kept, and shows that the helpers do take part when allowed to.
    expect(helpersScavenging(['--parallel-scavenge'])).toBeGreaterThan(0)
  }, 120_000)
})

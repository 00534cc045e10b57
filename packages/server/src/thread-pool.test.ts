import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// Issue 16 item 4: the server sizes libuv's thread pool for the machine, before anything starts it.
// bin/flexsecure.js requires bin/thread-pool.js first; here a child process does the same with `-r`.

const threadPool = new URL('../bin/thread-pool.js', import.meta.url).pathname
const { threadPoolSize } = createRequire(import.meta.url)(threadPool) as {
  threadPoolSize: (cores: number) => number
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

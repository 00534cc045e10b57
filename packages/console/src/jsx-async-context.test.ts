import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const script = fileURLToPath(new URL('../test/jsx-hooks-probe.ts', import.meta.url))

/** The probe's findings, in a process of its own. */
function probe(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (run.status !== 0) throw new Error(`the probe failed: ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    primed: boolean | null
    status: number
    page: string
    before: number
    afterPage: number
    afterAls: number
  }
}

describe('console pages and async_hooks', () => {
  it('by hono/jsx’s default, one page turns promise hooks on for the whole process', () => {
    const found = probe()
    expect(found.status).toBe(200)
    expect(found.before).toBe(0)
    // What renderJsxWithoutAsyncContext is for: the render's AsyncLocalStorage left them on.
    expect(found.afterPage).not.toBe(0)
  }, 60_000)

  it('after renderJsxWithoutAsyncContext, pages render and leave them off', () => {
    const found = probe('prime')
    expect(found.primed).toBe(true)
    expect(found.status).toBe(200)
    expect(found.page).toMatch(/<form [^>]*method="post"/)
    expect(found.page).toContain('name="authid"')
    expect(found.afterPage).toBe(0)
    // The control: an AsyncLocalStorage run turns them on, and the probe sees it.
    expect(found.afterAls).not.toBe(0)
  }, 60_000)
})

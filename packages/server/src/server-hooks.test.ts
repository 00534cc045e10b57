import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

// The console's pages are hono/jsx, whose default render turns async_hooks' promise hooks on for the
// whole process (Node 20): every API request would run them after an administrator's first visit.
// `flexsecure serve` has hono render without (renderJsxWithoutAsyncContext, @flexsecure/console);
// startServer, which a host may call, leaves hono as it is.
it('flexsecure serve serves a console page and leaves promise hooks off for the requests after it', () => {
  const script = fileURLToPath(new URL('../test/hooks-probe.ts', import.meta.url))
  const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 })
  expect(run.status, run.stderr).toBe(0)
  const found = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')
  expect(found).toEqual({ status: 200, form: true, hooks: 0 })
}, 60_000)

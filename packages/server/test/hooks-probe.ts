// Run by server-hooks.test.ts in a process of its own (promise hooks, once on, stay on for the process):
// the server as `flexsecure serve` starts it, one console page fetched from it, then whether async_hooks
// tracks promises (a promise reaction's executionAsyncId is 0 when no hook does).
import { executionAsyncId } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from '../src/server.js'
import { testServerConfig } from './server-config.js'

const probe = () =>
  new Promise<number>((resolve) => Promise.resolve().then(() => resolve(executionAsyncId())))
const dir = mkdtempSync(join(tmpdir(), 'flexsecure-hooks-'))
const server = await startServer(testServerConfig(join(dir, 'db.sqlite')), {
  send: async () => ({ providerId: null }),
})
try {
  const page = await fetch(`${server.url}/console/sign-in`)
  const html = await page.text()
  console.log(
    JSON.stringify({ status: page.status, form: html.includes('name="authid"'), hooks: await probe() }),
  )
} finally {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}

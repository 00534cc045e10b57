// Run by server-hooks.test.ts in a process of its own (promise hooks, once on, stay on for the process):
// `flexsecure serve`'s start (`serve`, as the CLI calls it), one console page fetched from it, then
// whether async_hooks tracks promises (a promise reaction's executionAsyncId is 0 when no hook does).
import { executionAsyncId } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '../src/serve-command.js'
import { testServerConfig } from './server-config.js'

const probe = () =>
  new Promise<number>((resolve) => Promise.resolve().then(() => resolve(executionAsyncId())))
const dir = mkdtempSync(join(tmpdir(), 'flexsecure-hooks-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const said: string[] = []
await serve(
  testServerConfig(join(dir, 'db.sqlite')),
  { values: {}, notifier: { send: async () => ({ providerId: null }) } },
  (line) => said.push(line),
)
const url = /listening on (http:\/\/\S+)/.exec(said.join('\n'))?.[1]
const page = await fetch(`${url}/console/sign-in`)
const html = await page.text()
console.log(
  JSON.stringify({ status: page.status, form: html.includes('name="authid"'), hooks: await probe() }),
)
// serve() stops on SIGTERM, as the CLI does.
process.kill(process.pid, 'SIGTERM')

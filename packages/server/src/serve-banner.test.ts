import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, type ServeProcess, startServe } from '../test/serve-process.js'

const dir = mkdtempSync(join(tmpdir(), 'flexsecure-banner-'))
const servers: ServeProcess[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  rmSync(dir, { recursive: true, force: true })
})

describe('the banner of flexsecure serve', () => {
  it('offers the demo commands only where the demo system is, not on a database made by init', async () => {
    const env = { FLEXSECURE_DB: join(dir, 'init.db'), FLEXSECURE_SECRET: 's'.repeat(40) }
    expect(runCli(['init', '--name', 'Acme'], env).code).toBe(0)
    const server = await startServe(env, { ready: /Try a login/ })
    servers.push(server)
    expect(server.output()).toContain('Try a login: make a system, a user and an assignment')
    expect(server.output()).not.toContain('"system":"demo"')
  }, 60_000)
})

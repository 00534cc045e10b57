import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureNotifier } from '@flexsecure/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { testServerConfig } from '../test/server-config.js'
import { type RunningServer, startServer } from './server.js'

// The server in process, to see that FLEXSECURE_TRUST_PROXY reaches the link pages (S25).

const dirs: string[] = []
const servers: RunningServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function confirmedFrom(trustProxy: boolean): Promise<string | null | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-proxy-'))
  dirs.push(dir)
  const notifier = captureNotifier()
  const server = await startServer(testServerConfig(join(dir, 'db.sqlite'), { trustProxy }), notifier)
  servers.push(server)
  const { id } = await server.engine.accounts.create({ name: 'Acme' })
  const acme = server.engine.account(id)
  await acme.systems.create({ name: 'wiki', policies: { passwordless: { enabled: true } } })
  await acme.users.create({ authid: 'alice', email: 'alice@example.com' })
  await acme.users.assign('alice', [{ system: 'wiki', method: 'passwordless' }])
  await acme.start({ system: 'wiki', authid: 'alice' })
  const link = `${server.url}/v1/links/${notifier.last().token}`
  const html = await (await fetch(link)).text()
  const form = /name="form" value="([^"]+)"/.exec(html)?.[1] as string
  const confirmed = await fetch(link, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': '10.0.0.1, 198.51.100.77',
    },
    body: `form=${encodeURIComponent(form)}`,
  })
  expect(confirmed.status).toBe(200)
  const { events } = await acme.audit.list({ type: 'link.confirmed' })
  return events[0]?.ip
}

describe('trustProxy in the server', () => {
  it('audits the socket address by default, and the proxy-appended one when told to trust it', async () => {
    expect(await confirmedFrom(false)).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/)
    expect(await confirmedFrom(true)).toBe('198.51.100.77')
  })
})

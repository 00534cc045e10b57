import { spawnSync } from 'node:child_process'
import { createClient } from '@flexsecure/client'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresReachable, SERVER_URL, testDatabase } from '../../../adapters/postgres/test/test-database.js'
import { startServe } from '../test/serve-process.js'

const packageDir = new URL('..', import.meta.url).pathname
const reachable = await postgresReachable()

describe('flexsecure with a PostgreSQL database', () => {
  it('refuses to start without a configured secret, which every instance must share', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
      cwd: packageDir,
      env: { ...process.env, FLEXSECURE_DB: 'postgres://nobody@127.0.0.1:1/none', FLEXSECURE_SECRET: '' },
      encoding: 'utf8',
    })
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('FLEXSECURE_SECRET is required with a PostgreSQL database')
  }, 30_000)
})

if (!reachable) {
  describe.skip(`flexsecure serve on PostgreSQL: not run, no server at ${SERVER_URL}`, () => {})
} else {
  const database = testDatabase()
  afterAll(() => database.drop())

  describe('flexsecure serve on PostgreSQL', () => {
    it('serves logins from a postgres:// URL', async () => {
      await database.reset()
      const server = await startServe({ FLEXSECURE_DB: database.url, FLEXSECURE_SECRET: 's'.repeat(40) })
      try {
        expect(server.output()).toContain(`database ${database.url}`)
        const client = createClient({ baseUrl: server.url, apiKey: server.authKey })
        expect(await client.start({ system: 'demo', authid: 'demo' })).toMatchObject({ result: 'success' })
        expect(await client.check({ system: 'demo', authid: 'demo' })).toMatchObject({ result: 'pending' })
      } finally {
        await server.stop()
      }
    }, 30_000)

    it('answers /readyz 503 once the database is gone, while /healthz (the process) stays 200', async () => {
      const doomed = testDatabase()
      await doomed.reset()
      const server = await startServe({ FLEXSECURE_DB: doomed.url, FLEXSECURE_SECRET: 's'.repeat(40) })
      try {
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
        await doomed.drop()
        const ready = await fetch(`${server.url}/readyz`)
        expect([ready.status, await ready.json()]).toEqual([
          503,
          { status: 'unavailable', problem: 'database unreachable' },
        ])
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
      } finally {
        await server.stop()
        await doomed.drop()
      }
    }, 60_000)
  })
}

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresReachable, testDatabase } from '../../../adapters/postgres/test/test-database.js'
import { runCli, startServe } from '../test/serve-process.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-production-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const mode = (path: string) => statSync(path).mode & 0o777
const UP = /listening on http/

describe('production mode (S32)', () => {
  it.each([
    ['--production', {}],
    ['NODE_ENV=production', { NODE_ENV: 'production' }],
  ])(
    'with %s and no SMTP or SMS, refuses to start: exit 2, one line naming the way out',
    (_, env) => {
      const run = runCli(['serve', ...(_ === '--production' ? ['--production'] : [])], {
        FLEXSECURE_DB: join(dir, 'refused', 'fs.db'),
        FLEXSECURE_PORT: '0',
        ...env,
      })
      expect(run.code, run.out).toBe(2)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain('production mode needs a real provider')
      expect(run.stderr).toContain('FLEXSECURE_ALLOW_CONSOLE_NOTIFIER=true')
    },
    60_000,
  )

  it('writes the first run’s keys to a 0600 file whose path it prints, never a key; folder 0700, database and secret 0600', async () => {
    const data = join(dir, 'fresh', 'data')
    const server = await startServe(
      { FLEXSECURE_DB: join(data, 'fs.db'), FLEXSECURE_ALLOW_CONSOLE_NOTIFIER: 'true' },
      { args: ['--production'], ready: /keys are in \S+ \(mode 600\)/ },
    )
    try {
      const output = server.output()
      const path = /keys are in (\S+) \(mode 600\)/.exec(output)?.[1] as string
      expect(path).toBe(join(data, 'first-run-credentials'))
      expect(output).not.toMatch(/fsk_/)
      expect(mode(path)).toBe(0o600)
      expect(mode(data)).toBe(0o700)
      expect(mode(join(data, 'fs.db'))).toBe(0o600)
      expect(mode(join(data, 'secret'))).toBe(0o600)
      // The keys in the file are the real ones.
      const authKey = /auth key: (fsk_\w+)/.exec(readFileSync(path, 'utf8'))?.[1] as string
      const client = createClient({ baseUrl: server.url, apiKey: authKey })
      expect(await client.start({ system: 'demo', authid: 'demo' })).toMatchObject({ result: 'success' })
    } finally {
      await server.stop()
    }
  }, 60_000)

  it('tightens a data folder and database that others can read, and says so', async () => {
    const data = join(dir, 'loose')
    mkdirSync(data, { mode: 0o755 })
    chmodSync(data, 0o755)
    writeFileSync(join(data, 'secret'), `${'x'.repeat(40)}\n`, { mode: 0o644 })
    chmodSync(join(data, 'secret'), 0o644)
    expect(runCli(['migrate'], { FLEXSECURE_DB: join(data, 'fs.db') }).code).toBe(0)
    chmodSync(join(data, 'fs.db'), 0o644)
    const server = await startServe(
      { FLEXSECURE_DB: join(data, 'fs.db'), FLEXSECURE_ALLOW_CONSOLE_NOTIFIER: 'true' },
      { args: ['--production'], ready: UP },
    )
    await server.stop()
    expect([mode(data), mode(join(data, 'fs.db')), mode(join(data, 'secret'))]).toEqual([0o700, 0o600, 0o600])
    expect(server.output()).toContain(`${data} was readable by others; its mode is now 700`)
  }, 60_000)

  it('warns when links would point at localhost while it listens on every address', async () => {
    const server = await startServe(
      { FLEXSECURE_DB: join(dir, 'wide', 'fs.db'), FLEXSECURE_HOST: '0.0.0.0' },
      { ready: /auth key: {2}fsk_/ },
    )
    await server.stop()
    expect(server.output()).toMatch(
      /WARNING: links point at http:\/\/localhost:\d+ but the server listens on 0\.0\.0\.0: set FLEXSECURE_BASE_URL/,
    )
  }, 60_000)
})

describe('passwords in printed URLs (S32)', async () => {
  const reachable = await postgresReachable()
  const database = testDatabase()
  afterAll(() => database.drop())

  ;(reachable ? it : it.skip)(
    `the banner shows the database URL with its password replaced${reachable ? '' : ' (not run: no PostgreSQL server answers)'}`,
    async () => {
      await database.reset()
      // The local server trusts every login, so any password connects: the point is what gets printed.
      const url = new URL(database.url)
      url.password = 'hunter2'
      const server = await startServe({ FLEXSECURE_DB: url.href, FLEXSECURE_SECRET: 's'.repeat(40) })
      await server.stop()
      expect(server.output()).toContain(`(database ${url.href.replace('hunter2', '***')})`)
      expect(server.output()).not.toContain('hunter2')
    },
    60_000,
  )
})

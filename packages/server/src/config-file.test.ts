import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createClient } from '@flexsecure/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startServe } from '../test/serve-process.js'
import { ConfigError, databaseKind, loadConfig, SETTINGS } from './config.js'
import { readConfigFile } from './config-file.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-config-file-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const base = { FLEXSECURE_DB: '/tmp/flexsecure-config-test/db.sqlite', FLEXSECURE_SECRET: 'x'.repeat(32) }

describe('unknown settings are refused with the list of valid ones', () => {
  it('a config file key', async () => {
    const file = join(dir, 'typo.json')
    writeFileSync(file, JSON.stringify({ port: 9000, smtpURL: 'smtp://mail' }))
    await expect(readConfigFile(file)).rejects.toThrow(
      `unknown key smtpURL in the config file ${file}; valid keys: ${Object.keys(SETTINGS).join(', ')}`,
    )
  })

  it('from the command line: exit 2, one line', () => {
    const file = join(dir, 'typo.json')
    const run = runCli(['migrate', '--config', file], { FLEXSECURE_DB: join(dir, 'never', 'fs.db') })
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('unknown key smtpURL')
    expect(existsSync(join(dir, 'never'))).toBe(false)
  }, 60_000)

  it('a mistyped FLEXSECURE_ variable, naming the one meant', () => {
    expect(() => loadConfig({ ...base, FLEXSECURE_SMPT_URL: 'smtp://mail' })).toThrow(
      new ConfigError('unknown variable FLEXSECURE_SMPT_URL: did you mean FLEXSECURE_SMTP_URL?'),
    )
    // Variables of other tools are left alone.
    expect(
      loadConfig({ ...base, FLEXSECURE_API_KEY: 'fsk_x', FLEXSECURE_TEST_PG_URL: 'postgres://x' }).port,
    ).toBe(8080)
  })

  it('a value of the wrong kind, naming the variable and what it takes', () => {
    expect(() => loadConfig({ ...base, FLEXSECURE_PORT: 'eighty' })).toThrow(
      'FLEXSECURE_PORT must be a whole number from 0 to 65535, not eighty',
    )
    expect(() =>
      loadConfig({
        ...base,
        FLEXSECURE_SMS_WEBHOOK_URL: 'https://gw',
        FLEXSECURE_SMS_WEBHOOK_HEADERS: '[1]',
      }),
    ).toThrow('FLEXSECURE_SMS_WEBHOOK_HEADERS must be a JSON object of header names to strings')
  })
})

describe('database URLs', () => {
  it('reads mysql:// and mariadb:// as MySQL, not as a SQLite file in a folder named mysql:', () => {
    expect(databaseKind('mysql://root@127.0.0.1:3306/auth')).toBe('mysql')
    expect(databaseKind('mariadb://root@db/auth')).toBe('mysql')
    expect(databaseKind('postgresql://u@h/d')).toBe('postgres')
    expect(databaseKind('./data/flexsecure.db')).toBe('sqlite')
    expect(loadConfig({ ...base, FLEXSECURE_DB: 'mysql://root@127.0.0.1:3306/auth' }).database).toBe(
      'mysql://root@127.0.0.1:3306/auth',
    )
  })

  it('refuses any other scheme, and a MySQL database without a configured secret', () => {
    expect(() => databaseKind('mongodb://db/auth')).toThrow('unknown database scheme mongodb://')
    expect(() => loadConfig({ FLEXSECURE_DB: 'mysql://root@db/auth', FLEXSECURE_SECRET: '' })).toThrow(
      'FLEXSECURE_SECRET is required with a MySQL database',
    )
  })
})

describe('a config module (--config flexsecure.config.mjs)', () => {
  it('hands the server its own storage and notifier', async () => {
    const database = join(dir, 'module', 'custom.db')
    const sent = join(dir, 'module-sent.jsonl')
    const module = join(dir, 'flexsecure.config.mjs')
    const sqlite = pathToFileURL(
      new URL('../../../adapters/sqlite/src/index.ts', import.meta.url).pathname,
    ).href
    writeFileSync(
      module,
      `import { appendFileSync, mkdirSync } from 'node:fs'
import { sqliteStorage } from '${sqlite}'
mkdirSync(${JSON.stringify(join(dir, 'module'))}, { recursive: true })
export default async () => ({
  secret: '${'m'.repeat(40)}',
  baseUrl: 'https://auth.example.com',
  storage: sqliteStorage({ filename: ${JSON.stringify(database)} }),
  notifier: { async send(message) { appendFileSync(${JSON.stringify(sent)}, JSON.stringify(message) + '\\n'); return { providerId: 'mine' } } },
})
`,
    )
    const cwd = join(dir, 'cwd')
    mkdirSync(cwd)
    const server = await startServe({ FLEXSECURE_DB: '' }, { args: ['--config', module], cwd })
    try {
      expect(server.output()).toContain('Messages go out through the notifier of the config module.')
      const client = createClient({ baseUrl: server.url, apiKey: server.authKey })
      expect(await client.start({ system: 'demo', authid: 'demo' })).toMatchObject({
        result: 'success',
        delivery: 'sent',
      })
      const message = JSON.parse(readFileSync(sent, 'utf8').trim().split('\n').at(-1) as string)
      expect(message.text).toMatch(/https:\/\/auth\.example\.com\/v1\/links\/[\w-]{32}/)
      expect(existsSync(database)).toBe(true)
      expect(readdirSync(cwd)).toEqual([])
    } finally {
      await server.stop()
    }
  }, 60_000)

  it('refuses a storage or notifier that is not one', async () => {
    const module = join(dir, 'bad.config.mjs')
    writeFileSync(module, 'export default { notifier: { deliver() {} } }\n')
    await expect(readConfigFile(module)).rejects.toThrow('must be a Notifier: an object with send(message)')
  })
})

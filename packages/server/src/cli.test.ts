import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openForTampering } from '../../../adapters/sqlite/test/engine-fixture.js'

const packageDir = new URL('..', import.meta.url).pathname
let dir: string
let database: string

/** Runs `flexsecure …` on this test's database; returns its exit code and output. */
function flexsecure(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: packageDir,
    env: { ...process.env, FLEXSECURE_DB: database },
    encoding: 'utf8',
    timeout: 30_000,
  })
  return { code: run.status, out: run.stdout + run.stderr }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-cli-'))
  database = join(dir, 'cli.db')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the flexsecure CLI', () => {
  let accountId: string

  it('migrates a new database', () => {
    const { code, out } = flexsecure('migrate')
    expect([code, out]).toEqual([0, expect.stringContaining('is up to date')])
  }, 30_000)

  it('init creates an account and prints an admin and an auth key once', () => {
    const { code, out } = flexsecure('init', '--name', 'Acme')
    expect(code).toBe(0)
    accountId = /account Acme: (\S+)/.exec(out)?.[1] as string
    expect(out).toMatch(/admin key: fsk_\w{38}\n/)
    expect(out).toMatch(/auth key: {2}fsk_\w{38}\n/)
  }, 30_000)

  it('creates, lists and revokes keys', () => {
    const created = flexsecure('keys', 'create', '--name', 'ci', '--scopes', 'auth')
    expect(created.code).toBe(0)
    const id = /\(id (\S+);/.exec(created.out)?.[1] as string
    expect(flexsecure('keys', 'list').out).toMatch(new RegExp(`${id}\\tfsk_\\w{6}\\tci\\tauth\\tlive`))
    expect(flexsecure('keys', 'revoke', '--id', id)).toMatchObject({ code: 0 })
    expect(flexsecure('keys', 'list').out).toMatch(new RegExp(`${id}\\t.*\\trevoked `))
    expect(flexsecure('keys', 'revoke', '--id', id)).toMatchObject({ code: 1 })
  }, 30_000)

  it('refuses bad usage with exit code 2 and the usage text', () => {
    expect(flexsecure('keys', 'create', '--scopes', 'root', '--name', 'x')).toMatchObject({
      code: 2,
      out: expect.stringContaining('usage: flexsecure'),
    })
    expect(flexsecure('frobnicate')).toMatchObject({ code: 2 })
    expect(flexsecure('keys', 'list', '--bogus')).toMatchObject({ code: 2 })
  }, 30_000)

  it('audit verify passes on an intact chain and exits 1 on an edited event', () => {
    expect(flexsecure('audit', 'verify')).toMatchObject({
      code: 0,
      out: expect.stringContaining(`${accountId}: ok`),
    })
    const db = openForTampering(database)
    db.prepare(`UPDATE fs_audit_events SET outcome = 'forged' WHERE seq = 2`).run()
    db.close()
    const broken = flexsecure('audit', 'verify')
    expect(broken).toMatchObject({ code: 1, out: expect.stringContaining('BROKEN at #2') })
  }, 30_000)

  it('init --admin-email makes the first console administrator; console-admin gives and takes roles', () => {
    const init = flexsecure('init', '--name', 'Beta', '--admin-email', 'ada@example.com')
    expect(init).toMatchObject({
      code: 0,
      out: expect.stringContaining('ada@example.com is a console admin (a new user)'),
    })
    expect(init.out).toMatch(/Sign in at http:\/\/127\.0\.0\.1:8080\/console/)
    const beta = /account Beta: (\S+)/.exec(init.out)?.[1] as string
    const grant = (...args: string[]) => flexsecure('console-admin', '--account', beta, ...args)
    expect(grant('--email', 'vic@example.com', '--role', 'viewer')).toMatchObject({
      code: 0,
      out: expect.stringContaining('vic@example.com is a console viewer (a new user)'),
    })
    expect(grant('--email', 'vic@example.com', '--role', 'none')).toMatchObject({
      code: 0,
      out: expect.stringContaining('has no console role'),
    })
    expect(grant('--email', 'x@example.com', '--role', 'root')).toMatchObject({ code: 2 })
    expect(grant()).toMatchObject({ code: 2, out: expect.stringContaining('needs --email') })
  }, 60_000)
})

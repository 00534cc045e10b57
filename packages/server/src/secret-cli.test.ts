import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flexsecureInProcess } from '../test/cli-in-process.js'

// S33 through the operator's commands: another secret is refused in one line; rotation by keyring.

const OLD = 'o'.repeat(40)
const NEW = 'n'.repeat(40)
const saved = {
  db: process.env.FLEXSECURE_DB,
  secret: process.env.FLEXSECURE_SECRET,
  previous: process.env.FLEXSECURE_PREVIOUS_SECRETS,
}
let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flexsecure-secret-cli-'))
  process.env.FLEXSECURE_DB = join(dir, 'data', 'fs.db')
})
afterAll(() => {
  for (const [key, value] of [
    ['FLEXSECURE_DB', saved.db],
    ['FLEXSECURE_SECRET', saved.secret],
    ['FLEXSECURE_PREVIOUS_SECRETS', saved.previous],
  ] as const)
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  rmSync(dir, { recursive: true, force: true })
})

/** `flexsecure …` with a secret and previous secrets: exit code, JSON answer, stderr. */
async function flexsecure(secret: string, previous: string, ...args: string[]) {
  process.env.FLEXSECURE_SECRET = secret
  process.env.FLEXSECURE_PREVIOUS_SECRETS = previous
  return flexsecureInProcess(...args)
}

describe('the engine secret (S33)', () => {
  it('refuses another secret on the same database, in one line that says what to do', async () => {
    expect((await flexsecure(OLD, '', 'init', '--name', 'Acme')).code).toBe(0)
    const refused = await flexsecure(NEW, '', 'accounts', 'list')
    expect(refused.code).toBe(1)
    expect(refused.error).toMatch(/^flexsecure: FLEXSECURE_SECRET is not the secret .* was made with/)
    expect(refused.error).toContain('FLEXSECURE_PREVIOUS_SECRETS')
    expect(refused.error.split('\n')).toHaveLength(1)
    expect(refused.error).not.toContain(NEW)
    expect((await flexsecure(NEW, '', 'secret', 'fingerprint')).code).toBe(1)
  })

  it('rotates with the new secret first and the old one previous; then the old one alone is refused', async () => {
    const rotated = await flexsecure(NEW, OLD, 'secret', 'rotate')
    expect(rotated).toMatchObject({ code: 0, value: { accounts: 1, rotatedByAnother: false } })
    expect(await flexsecure(NEW, OLD, 'audit', 'verify')).toMatchObject({ code: 0, value: [{ ok: true }] })
    const events = await flexsecure(NEW, OLD, 'audit', 'list', '--type', 'engine.secret.rotated')
    expect(events.value).toMatchObject({ events: [{ type: 'engine.secret.rotated' }] })
    expect((await flexsecure(OLD, '', 'accounts', 'list')).code).toBe(1)
    expect(await flexsecure(NEW, OLD, 'secret', 'fingerprint')).toMatchObject({
      code: 0,
      value: { matches: true },
    })
  })
})

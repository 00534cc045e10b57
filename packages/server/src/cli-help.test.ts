import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../test/serve-process.js'
import { main } from './cli.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
const emptyDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'flexsecure-help-'))
  dirs.push(dir)
  return dir
}

const COMMANDS = [
  'serve',
  'migrate',
  'init',
  'accounts',
  'systems',
  'users',
  'assign',
  'keys',
  'audit',
  'settings',
  'operator-key',
]

/** `main` in this process, on a database path inside a fresh folder; returns what it said and left. */
async function help(args: string[]) {
  const dir = emptyDir()
  const said: string[] = []
  const saved = process.env.FLEXSECURE_DB
  process.env.FLEXSECURE_DB = join(dir, 'data', 'flexsecure.db')
  try {
    const code = await main(
      args,
      (_, lines) => said.push(String(lines)),
      (line) => said.push(line),
    )
    return { code, said: said.join('\n'), left: readdirSync(dir) }
  } finally {
    process.env.FLEXSECURE_DB = saved
  }
}

describe('flexsecure --help', () => {
  it.each([
    ['--help'],
    ['-h'],
    ...COMMANDS.map((command) => [command, '--help']),
    ['keys', 'revoke', '--help'],
    ['users', 'create', '-h'],
  ])('%s %s answers with its help and creates nothing', async (...args) => {
    const { code, said, left } = await help(args)
    expect(code).toBe(0)
    expect(said).toMatch(/^usage: flexsecure/)
    expect(left).toEqual([])
  })

  it('gives each command its own help', async () => {
    expect((await help(['assign', '--help'])).said).toContain('SYSTEM:METHOD')
    expect((await help(['settings', '--help'])).said).toContain('sendLimits')
    expect((await help(['keys', '--help'])).said).toContain('keys revoke KEY_ID')
  })

  it('as a process, in an empty folder: exit 0 and no ./data', () => {
    const cwd = emptyDir()
    const { code, stdout } = runCli(
      ['--help'],
      { FLEXSECURE_DB: undefined, FLEXSECURE_SECRET: undefined },
      cwd,
    )
    expect([code, stdout.startsWith('usage: flexsecure')]).toEqual([0, true])
    expect(readdirSync(cwd)).toEqual([])
  }, 30_000)

  it('opens no database: on a PostgreSQL URL nothing answers, with no secret, it answers all the same', () => {
    const cwd = emptyDir()
    const { code, stdout } = runCli(
      ['keys', '--help'],
      { FLEXSECURE_DB: 'postgres://nobody:pw@127.0.0.1:1/none', FLEXSECURE_SECRET: '' },
      cwd,
    )
    expect([code, stdout.startsWith('usage: flexsecure keys')]).toEqual([0, true])
    expect(readdirSync(cwd)).toEqual([])
  }, 30_000)
})

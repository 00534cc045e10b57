import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const here = new URL('.', import.meta.url).pathname

describe('the README example', () => {
  it('is the code in readme-example.ts, word for word', () => {
    const readme = readFileSync(join(here, '../../README.md'), 'utf8')
    const block = /<!-- example: examples\/demo\/readme-example\.ts -->\n```ts\n([\s\S]*?)```/.exec(
      readme,
    )?.[1]
    expect(block).toBe(readFileSync(join(here, 'readme-example.ts'), 'utf8'))
    expect(block?.trim().split('\n').length).toBeLessThanOrEqual(16)
  })

  it('runs and authenticates Alice', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'readme-example.ts'], { cwd: here })
    expect(stdout).toMatch(/result: 'authenticated'/)
  }, 30_000)
})

describe('the README’s adaptive-policy example', () => {
  it('is the code in adaptive-example.ts, word for word', () => {
    const readme = readFileSync(join(here, '../../README.md'), 'utf8')
    const block = /<!-- example: examples\/demo\/adaptive-example\.ts -->\n```ts\n([\s\S]*?)```/.exec(
      readme,
    )?.[1]
    expect(block).toBe(readFileSync(join(here, 'adaptive-example.ts'), 'utf8'))
  })

  it('runs: passwordless plus the memorized PIN from outside the office, with number matching', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'adaptive-example.ts'], { cwd: here })
    expect(stdout).toMatch(/layers: \[ 'passwordless', 'memorized_pin' \]/)
    expect(stdout).toMatch(/matchCode: '\d{3}'/)
    expect(stdout).toMatch(/next: 'memorized_pin'/)
    expect(stdout).toMatch(/result: 'authenticated'/)
  }, 30_000)
})

describe('the demo (pnpm demo)', () => {
  it('walks both methods to authenticated on a SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flexsecure-demo-'))
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'demo.ts'], {
        cwd: here,
        env: { ...process.env, FLEXSECURE_DEMO_DB: join(dir, 'demo.db') },
      })
      expect(stdout.match(/"result":"authenticated"/g)).toHaveLength(2)
      expect(stdout).toContain('"reason":"wrong_pin"')
      expect(stdout).toContain('"reason":"no_pending_challenge"')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The guides' code is the examples' code: every fenced block names the file it comes from (the
// comment on the line above it), and must still be that file's code, a run of whole lines, indented
// as it likes; an `output` block is what running the file prints. The files themselves are type-checked
// by `pnpm lint` and run by their own tests.

const run = promisify(execFile)
const root = resolve(new URL('.', import.meta.url).pathname, '../../..')
const GUIDES = ['docs/integrating.md', 'docs/events.md', 'docs/adapters.md']

interface Block {
  readonly guide: string
  readonly kind: 'from' | 'output' | null
  readonly file: string | null
  readonly code: string
  readonly line: number
}

/** Every fenced block of a guide, with the marker on the line above it. */
function blocksOf(guide: string): Block[] {
  const lines = readFileSync(join(root, guide), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```\w*$/.test(lines[i] as string) || lines[i] === '```') continue
    const end = lines.indexOf('```', i + 1)
    const marker = /^<!-- (from|output): (\S+) -->$/.exec(lines[i - 1] ?? '')
    blocks.push({
      guide,
      kind: (marker?.[1] as Block['kind']) ?? null,
      file: marker?.[2] ?? null,
      code: lines.slice(i + 1, end).join('\n'),
      line: i + 1,
    })
    i = end
  }
  return blocks
}

/** The lines without their common leading indentation. */
function dedent(lines: readonly string[]): string[] {
  const indent = Math.min(
    ...lines.filter((l) => l.trim()).map((l) => (/^ */.exec(l) as RegExpExecArray)[0].length),
  )
  return lines.map((l) => l.slice(indent))
}

/** Whether `code` is a run of whole lines of `source`, up to indentation of the run as a whole. */
function isExcerptOf(code: string, source: string): boolean {
  const wanted = dedent(code.split('\n')).join('\n')
  const lines = source.split('\n')
  const size = code.split('\n').length
  for (let start = 0; start + size <= lines.length; start++)
    if (dedent(lines.slice(start, start + size)).join('\n') === wanted) return true
  return false
}

const blocks = GUIDES.flatMap(blocksOf)

describe('the guides', () => {
  it('have code blocks, each marked with the file it comes from', () => {
    expect(blocks.length).toBeGreaterThan(10)
    expect(blocks.filter((b) => b.kind === null).map((b) => `${b.guide}:${b.line}`)).toEqual([])
  })

  it.each(
    blocks.filter((b) => b.kind === 'from').map((b) => [`${b.guide}:${b.line} (${b.file})`, b] as const),
  )('%s is still the code of its file', (_name, block) => {
    expect(isExcerptOf(block.code, readFileSync(join(root, block.file as string), 'utf8'))).toBe(true)
  })

  it('tells a changed block from its file', () => {
    const source = readFileSync(join(root, 'packages/core/src/admin/background-work.ts'), 'utf8')
    expect(
      isExcerptOf(
        "const timers = [\n  repeat(settings.outboxMs ?? 1000, 'deliverDue', work.deliverDue, logger),",
        source,
      ),
    ).toBe(true)
    expect(
      isExcerptOf(
        "const timers = [\n  repeat(settings.outboxMs ?? 2000, 'deliverDue', work.deliverDue, logger),",
        source,
      ),
    ).toBe(false)
    expect(isExcerptOf('repeat(settings.outboxMs ?? 1000', source)).toBe(false) // part of a line
  })

  it.each(
    blocks.filter((b) => b.kind === 'output').map((b) => [`${b.guide}:${b.line} (${b.file})`, b] as const),
  )(
    '%s is what running the file prints',
    async (_name, block) => {
      const file = join(root, block.file as string)
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: dirname(file) })
      expect(stdout.trimEnd()).toBe(block.code)
    },
    30_000,
  )

  it('link only to files and folders that exist', () => {
    for (const guide of GUIDES) {
      const text = readFileSync(join(root, guide), 'utf8')
      for (const [, target] of text.matchAll(/\]\(((?!https?:)[^)#]+)\)/g))
        expect([guide, target, existsSync(join(root, dirname(guide), target as string))]).toEqual([
          guide,
          target,
          true,
        ])
    }
  })

  it('are linked from the README’s first screen, under the two commands', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const firstScreen = readme.split('\n').slice(0, 25).join('\n')
    expect(firstScreen).toContain('](docs/integrating.md)')
    expect(firstScreen).toContain('](docs/events.md)')
    expect(firstScreen.indexOf('](docs/integrating.md)')).toBeGreaterThan(
      firstScreen.indexOf('pnpm@10.34.9 test'),
    )
  })
})

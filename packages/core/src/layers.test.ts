import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Core's layers, lowest first. A layer's code imports only the layers listed for it (and itself);
// engine.ts wires them all, and testing/ and conformance/ sit beside the engine. Biome's
// noImportCycles refuses cycles inside a layer; this refuses an import that runs back up.
const ALLOWED: Record<string, readonly string[]> = {
  domain: [],
  ports: ['domain'],
  audit: ['domain', 'ports'],
  outbox: ['domain', 'ports'],
  policy: ['domain', 'ports', 'outbox'],
  login: ['domain', 'ports', 'audit', 'outbox', 'policy'],
  admin: ['domain', 'ports', 'audit', 'outbox', 'policy', 'login'],
}

const src = dirname(fileURLToPath(import.meta.url))
const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g

/** Every relative import of each non-test source file in a layer, as the layer it lands in. */
function crossings(layer: string): string[] {
  const found: string[] = []
  for (const file of readdirSync(join(src, layer))) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue
    const text = readFileSync(join(src, layer, file), 'utf8')
    for (const [, spec] of text.matchAll(IMPORT)) {
      const target = relative(src, join(src, layer, spec!)).split('/')
      const into = target.length > 1 ? target[0]! : '(root)'
      if (into !== layer) found.push(`${layer}/${file} → ${into}`)
    }
  }
  return found
}

describe('core layers', () => {
  it('has a folder for each layer and nothing else at the top but the engine and the index', () => {
    const top = readdirSync(src, { withFileTypes: true })
    expect(
      top
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort(),
    ).toEqual([...Object.keys(ALLOWED), 'conformance', 'testing'].sort())
    const files = top.filter((e) => e.isFile() && !e.name.endsWith('.test.ts')).map((e) => e.name)
    expect(files.sort()).toEqual(['engine.ts', 'index.ts'])
  })

  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    it(`${layer} imports only ${allowed.length ? allowed.join(', ') : 'itself'}`, () => {
      const upward = crossings(layer).filter((c) => !allowed.includes(c.split(' → ')[1]!))
      expect(upward).toEqual([])
    })
  }

  it('imports nothing from outside core by path, tests included (no adapter test fixtures)', () => {
    const outside: string[] = []
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.name.endsWith('.ts'))
          for (const [, spec] of readFileSync(path, 'utf8').matchAll(IMPORT))
            if (relative(src, join(dir, spec!)).startsWith('..'))
              outside.push(`${relative(src, path)} → ${spec}`)
      }
    }
    walk(src)
    expect(outside).toEqual([])
  })

  it('sees an upward import when there is one', () => {
    // The check itself: login reads policy, so policy may not read login.
    expect(crossings('login').some((c) => c.endsWith('→ policy'))).toBe(true)
    expect(ALLOWED.policy).not.toContain('login')
  })
})

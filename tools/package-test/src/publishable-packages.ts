import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The repository's root, two levels above this package. */
export const ROOT = new URL('../../..', import.meta.url).pathname

/** A workspace package that is published: its folder, name and the entry points its `exports` name. */
export interface PublishablePackage {
  readonly dir: string
  readonly name: string
  readonly entries: readonly string[]
}

/** Every package under packages/ and adapters/ that is not private. */
export function publishablePackages(): PublishablePackage[] {
  const found: PublishablePackage[] = []
  for (const group of ['packages', 'adapters'])
    for (const folder of readdirSync(join(ROOT, group), { withFileTypes: true })) {
      if (!folder.isDirectory()) continue
      const dir = join(ROOT, group, folder.name)
      let manifest: { name: string; private?: boolean; exports?: Record<string, unknown> }
      try {
        manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      } catch {
        continue
      }
      if (manifest.private) continue
      const entries = Object.keys(manifest.exports ?? { '.': null }).map((key) =>
        key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`,
      )
      found.push({ dir, name: manifest.name, entries })
    }
  return found
}

import { defineConfig } from 'tsdown'

/** The one build every package shares: ESM, declarations, one output file per source file. */
export function packageBuild(entry: string[] = ['src/index.ts']) {
  return defineConfig({ entry, format: 'esm', dts: true, unbundle: true, clean: true, fixedExtension: false })
}

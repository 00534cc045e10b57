import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts', 'src/testing/index.ts', 'src/testing/race-process.ts'],
  format: 'esm',
  dts: true,
  unbundle: true,
  clean: true,
  fixedExtension: false,
})

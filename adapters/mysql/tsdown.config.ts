import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts'],
  format: 'esm',
  dts: true,
  unbundle: true,
  clean: true,
  fixedExtension: false,
})

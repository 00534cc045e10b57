import { defineConfig } from 'vitest/config'

// One vitest project per workspace package; each runs the tests beside its code.
export default defineConfig({
  test: {
    projects: ['packages/*', 'adapters/*', 'examples/*', 'tools/*'],
  },
})

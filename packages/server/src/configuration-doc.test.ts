import { readFileSync } from 'node:fs'
import { DEFAULT_SETTINGS } from '@flexsecure/core'
import { describe, expect, it } from 'vitest'
import { SETTINGS } from './settings.js'

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')

describe('docs/configuration.md', () => {
  it.each(Object.entries(SETTINGS))(
    'documents the server setting %s with its variable and default',
    (key, spec) => {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${key}\` | \`${spec.env}\` |`))
      expect(row, `no row for ${key}`).toBeDefined()
      if (spec.default) expect(row).toContain(`\`${spec.default}\``)
    },
  )

  it('documents every account setting, with its default', () => {
    const rows = doc.split('\n')
    const expectRow = (key: string, value: unknown) => {
      const row = rows.find((line) => line.startsWith(`| \`${key}\` |`))
      expect(row, `no row for ${key}`).toBeDefined()
      if (typeof value === 'number' || typeof value === 'boolean') expect(row).toContain(`\`${value}\``)
    }
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
      if (value && typeof value === 'object' && !Array.isArray(value))
        for (const [inner, innerValue] of Object.entries(value)) expectRow(`${key}.${inner}`, innerValue)
      else expectRow(key, value)
    }
    expectRow('messages', undefined)
  })
})

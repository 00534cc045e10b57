import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONTRACT_TYPES_FILE, renderContractTypes } from './contract-types-render.js'

describe('contract-types.ts', () => {
  it('is what the contract generates now (run `pnpm --filter @flexsecure/client generate` after a change)', async () => {
    expect(readFileSync(CONTRACT_TYPES_FILE, 'utf8')).toBe(await renderContractTypes())
  })

  it('names the shapes the client answers with, generated rather than written by hand', () => {
    const text = readFileSync(CONTRACT_TYPES_FILE, 'utf8')
    for (const name of ['System', 'User', 'AccountSettings', 'Simulation', 'AuditVerdict', 'CreatedAccount'])
      expect(text).toMatch(new RegExp(`^export (interface|type) ${name}\\b`, 'm'))
    expect(text).not.toMatch(/^import /m)
  })
})

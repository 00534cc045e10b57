import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ConsoleFixture, consoleFixture } from '../test/console-fixture.js'

let f: ConsoleFixture
beforeEach(async () => {
  f = await consoleFixture()
  await f.acme.console.grant({ authid: 'root@example.com', email: 'root@example.com', role: 'admin' })
})
afterEach(() => f.close())

describe('the console', () => {
  it('signs an administrator in and shows every screen', async () => {
    const { client } = await f.signIn('root@example.com')
    for (const path of [
      '/console/',
      '/console/systems',
      '/console/systems/new',
      '/console/users',
      '/console/users/new',
      '/console/users/alice',
      '/console/audit',
      '/console/deliveries',
      '/console/keys',
      '/console/settings',
      '/console/sessions',
      '/console/systems/payroll',
    ]) {
      const page = await client.get(path)
      expect(page.status, `${path}: ${page.text.slice(0, 500)}`).toBe(200)
    }
  })
})

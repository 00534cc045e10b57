// What the in-process server tests log in to: an account Acme, its system `payroll` (sign-in by link), and
// users u0…u(n-1), each with an address and assigned to it, plus an auth key.
import type { AccountHandle, Engine } from '@flexsecure/core'

export async function seedPayroll(
  engine: Engine,
  users: number,
): Promise<{ readonly acme: AccountHandle; readonly authKey: string }> {
  const acme = engine.account((await engine.accounts.create({ name: 'Acme' })).id)
  await acme.systems.create({ name: 'payroll', policies: { passwordless: { enabled: true } } })
  for (let i = 0; i < users; i++) {
    await acme.users.create({ authid: `u${i}`, email: `u${i}@example.com` })
    await acme.users.assign(`u${i}`, [{ system: 'payroll', method: 'passwordless' }])
  }
  const authKey = (await acme.apiKeys.create({ name: 'host', scopes: ['auth'] })).key
  return { acme, authKey }
}

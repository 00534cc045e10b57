import type { AccountHandle } from '@flexsecure/core'
import { ensureUser } from '@flexsecure/example-shared'
import { STEP_UP_SYSTEM } from './app.js'
import { type PasswordBook, passwordBook } from './passwords.js'

/**
 * FlexSecure's side: one system for step-ups, and the app's users under the same names as in its
 * password book (the authid is the app's user name). Alice steps up with a one-time PIN, Bob with a link.
 */
export async function seedStepUp(account: AccountHandle): Promise<void> {
  // Runs on every boot: `ensure` and `ensureUser` leave what is already there as it is.
  await account.systems.ensure({
    name: STEP_UP_SYSTEM,
    sensitivity: 'high',
    policies: { pin: { enabled: true }, passwordless: { enabled: true } },
  })
  await ensureUser(account, { authid: 'alice', email: 'alice@example.com' }, [
    { system: STEP_UP_SYSTEM, method: 'pin' },
  ])
  await ensureUser(account, { authid: 'bob', email: 'bob@example.com' }, [
    { system: STEP_UP_SYSTEM, method: 'passwordless' },
  ])
}

/** The app's existing users, as its password login knows them (development passwords). */
export function examplePasswords(): PasswordBook {
  return passwordBook({ alice: 'correct horse battery staple', bob: 'bob has a long password too' })
}

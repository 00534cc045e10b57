import type { AccountHandle } from '@flexsecure/core'
import { STEP_UP_SYSTEM } from './app.js'
import { type PasswordBook, passwordBook } from './passwords.js'

/**
 * FlexSecure's side: one system for step-ups, and the app's users under the same names as in its
 * password book (the authid is the app's user name). Alice steps up with a one-time PIN, Bob with a link.
 */
export async function seedStepUp(account: AccountHandle): Promise<void> {
  await account.systems.create({
    name: STEP_UP_SYSTEM,
    sensitivity: 'high',
    policies: { pin: { enabled: true }, passwordless: { enabled: true } },
  })
  await account.users.create({ authid: 'alice', email: 'alice@example.com' })
  await account.users.assign('alice', [{ system: STEP_UP_SYSTEM, method: 'pin' }])
  await account.users.create({ authid: 'bob', email: 'bob@example.com' })
  await account.users.assign('bob', [{ system: STEP_UP_SYSTEM, method: 'passwordless' }])
}

/** The app's existing users, as its password login knows them (development passwords). */
export function examplePasswords(): PasswordBook {
  return passwordBook({ alice: 'correct horse battery staple', bob: 'bob has a long password too' })
}

import type { AccountHandle, ConsoleRole } from '@flexsecure/core'

// The operator's side of the console: `flexsecure init --admin-email` and `flexsecure console-admin`
// give a user a console role (creating the account's console system and the user as needed), so the
// first administrator can sign in. Kept apart from cli.ts, which only routes to it.

/** What `console-admin` prints with `--help`, and the usage lines cli.ts shows. */
export const CONSOLE_ADMIN_USAGE = `  console-admin --email ADDRESS [--role admin|viewer|none] [--account ID]
                                 give a user a console role (creates the user when missing)`

/** The flags of `console-admin` (and `init --admin-email`). */
export interface ConsoleAdminFlags {
  readonly email?: string | undefined
  readonly role?: string | undefined
}

/** Grants the role and says where to sign in; throws a TypeError for bad flags (usage, exit 2). */
export async function grantConsoleAdmin(
  account: AccountHandle,
  flags: ConsoleAdminFlags,
  consoleUrl: string,
): Promise<string> {
  if (!flags.email) throw new TypeError('console-admin needs --email')
  const role = flags.role ?? 'admin'
  if (role !== 'admin' && role !== 'viewer' && role !== 'none')
    throw new TypeError('--role takes admin, viewer or none')
  const granted = await account.console.grant({
    authid: flags.email,
    email: flags.email,
    role: role === 'none' ? null : (role as ConsoleRole),
  })
  if (granted.role === null) return `${flags.email} has no console role any more.`
  return [
    `${flags.email} is a console ${granted.role}${granted.createdUser ? ' (a new user)' : ''} of account ${account.id}.`,
    `Sign in at ${consoleUrl}: a sign-in link goes to that address.`,
  ].join('\n')
}

/** The line the server prints at start: where the console is. */
export const consoleHint = (url: string) =>
  `Administration console: ${url}/console (give someone access: flexsecure console-admin --email you@example.com)`

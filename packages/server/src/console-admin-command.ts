import type { AccountHandle, ConsoleRole } from '@flexsecure/core'
import { UsageError } from './cli-args.js'
import type { ServerConfig } from './config.js'

// The operator's side of the console: `flexsecure init --admin-email` and `flexsecure console-admin`
// give a user a console role (creating the account's console system and the user as needed), so the
// first administrator can sign in. Kept apart from cli.ts, which only routes to it.

/** Where the console is: the configured base URL, else the address the server listens on by default. */
export const consoleUrl = (config: ServerConfig) =>
  `${config.baseUrl ?? `http://${config.host}:${config.port}`}/console`

/** The flags of `console-admin` (and `init --admin-email`). */
export interface ConsoleAdminFlags {
  readonly email?: string | undefined
  readonly role?: string | undefined
}

/** Grants the role; answers what `--json` prints and the lines that say where to sign in. */
export async function grantConsoleAdmin(
  account: AccountHandle,
  flags: ConsoleAdminFlags,
  consoleUrl: string,
): Promise<{ value: { authid: string; role: ConsoleRole | null }; text: string }> {
  if (!flags.email) throw new UsageError('console-admin needs --email')
  const role = flags.role ?? 'admin'
  if (role !== 'admin' && role !== 'viewer' && role !== 'none')
    throw new UsageError('--role takes admin, viewer or none')
  const granted = await account.console.grant({
    authid: flags.email,
    email: flags.email,
    role: role === 'none' ? null : (role as ConsoleRole),
  })
  const value = { authid: flags.email, role: granted.role }
  if (granted.role === null) return { value, text: `${flags.email} has no console role any more.` }
  return {
    value,
    text: [
      `${flags.email} is a console ${granted.role}${granted.createdUser ? ' (a new user)' : ''} of account ${account.id}.`,
      `Sign in at ${consoleUrl}: a sign-in link goes to that address.`,
    ].join('\n'),
  }
}

/** The line the server prints at start: where the console is. */
export const consoleHint = (url: string) =>
  `Administration console: ${url}/console (give someone access: flexsecure console-admin --email you@example.com)`

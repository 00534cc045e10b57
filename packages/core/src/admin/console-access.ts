import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js'
import type { Method } from '../domain/model.js'
import type { SystemInput, SystemsAdmin } from './systems-admin.js'
import type { UsersAdmin } from './users-admin.js'

// The administration console signs administrators in with FlexSecure itself (S24): it is a system of
// the account, and an administrator is a user assigned to it whose `consoleRole` attribute names a
// role. Both are ordinary data, so the admin API, the CLI and the console all grant access the same
// way, and no table changes for it.

/** The name of the console's system in every account. */
export const CONSOLE_SYSTEM = 'flexsecure-console'
/** The user attribute that holds a console role. */
export const CONSOLE_ROLE_ATTRIBUTE = 'consoleRole'

/** `admin` may do everything the admin API does; `viewer` may read everything and change nothing. */
export type ConsoleRole = 'admin' | 'viewer'
/** Every console role. */
export const CONSOLE_ROLES: readonly ConsoleRole[] = ['admin', 'viewer']

/**
 * The console system as created: a link or a PIN by email, high sensitivity, and number matching on
 * every sign-in (S12), so a link that someone else asked for cannot sign them in.
 */
export const CONSOLE_SYSTEM_SETTINGS: Omit<SystemInput, 'name'> = {
  sensitivity: 'high',
  policies: {
    passwordless: { enabled: true, channels: ['email'] },
    pin: { enabled: true, channels: ['email'] },
  },
  rules: [{ name: 'console sign-in: number matching', effect: { numberMatching: true } }],
}

/** The console role an attribute map names, or null. */
export function consoleRoleOf(attributes: Readonly<Record<string, unknown>>): ConsoleRole | null {
  const role = attributes[CONSOLE_ROLE_ATTRIBUTE]
  return CONSOLE_ROLES.includes(role as ConsoleRole) ? (role as ConsoleRole) : null
}

/** Who gets (or loses, with `role: null`) console access, and how they sign in. */
export interface ConsoleGrant {
  readonly authid: string
  /** Creates the user with this address when there is none of that authid. */
  readonly email?: string
  readonly role: ConsoleRole | null
  /** How they sign in: a link (default) or a one-time PIN, by email. */
  readonly method?: Method
}

/**
 * Gives a user a console role (creating the console system, and the user when `email` is given), or
 * takes it away with `role: null` (the assignment stays; without a role it opens nothing). Audited as
 * the ordinary changes it is made of.
 */
export async function grantConsoleAccess(
  account: { readonly systems: SystemsAdmin; readonly users: UsersAdmin },
  grant: ConsoleGrant,
): Promise<{ readonly role: ConsoleRole | null; readonly createdUser: boolean }> {
  if (typeof grant !== 'object' || grant === null) throw new ValidationError('grant', 'must be an object')
  if (grant.role !== null && !CONSOLE_ROLES.includes(grant.role))
    throw new ValidationError('role', `must be one of ${CONSOLE_ROLES.join(', ')}, or null`)
  const method = grant.method ?? 'passwordless'
  if (method !== 'passwordless' && method !== 'pin')
    throw new ValidationError('method', "must be 'passwordless' or 'pin'")
  let user = await account.users.get(grant.authid)
  if (!user && grant.role === null) throw new NotFoundError('user', grant.authid)
  let createdUser = false
  if (!user) {
    if (grant.email === undefined) throw new NotFoundError('user', grant.authid)
    user = await account.users.create({ authid: grant.authid, email: grant.email })
    createdUser = true
  } else if (grant.email !== undefined && user.email === null) {
    user = await account.users.update(grant.authid, { email: grant.email })
  }
  const { [CONSOLE_ROLE_ATTRIBUTE]: _previous, ...others } = user.attributes
  if (grant.role === null) {
    await account.users.update(grant.authid, { attributes: others })
    return { role: null, createdUser }
  }
  await ensureConsoleSystem(account.systems)
  await account.users.update(grant.authid, {
    attributes: { ...others, [CONSOLE_ROLE_ATTRIBUTE]: grant.role },
  })
  await account.users.assign(grant.authid, [{ system: CONSOLE_SYSTEM, method, channel: 'email' }])
  return { role: grant.role, createdUser }
}

/** Creates the console system unless it exists (two concurrent grants both succeed). */
export async function ensureConsoleSystem(systems: SystemsAdmin): Promise<void> {
  if (await systems.get(CONSOLE_SYSTEM)) return
  try {
    await systems.create({ name: CONSOLE_SYSTEM, ...CONSOLE_SYSTEM_SETTINGS })
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error
  }
}

import { normalizeEmail, normalizePhone } from '../domain/contact-points.js'
import { NotFoundError, ValidationError } from '../domain/errors.js'
import {
  refuseControlCharacters,
  requireContext,
  requireName,
  requireWellFormed,
} from '../domain/login-input.js'
import { requireMemorizedPin } from '../domain/memorized-pin.js'
import {
  type Assignment,
  CHANNELS,
  type Channel,
  METHODS,
  type Method,
  type User,
  type UserStatus,
} from '../domain/model.js'
import { newId } from '../domain/secrets.js'
import { requireLocale } from '../outbox/messages.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { UserRow } from '../ports/storage.js'
import { adminAudit, requireObject } from './account-admin.js'

/** A user as an administrator creates them. */
export interface UserInput {
  readonly authid: string
  readonly displayName?: string | null
  readonly email?: string | null
  readonly phone?: string | null
  /** The language of the user's messages: `en`, `de`, or any tag with templates of its own. */
  readonly locale?: string | null
  /** Flat attributes rules can test (at most 32: strings, numbers, booleans). */
  readonly attributes?: Readonly<Record<string, string | number | boolean>>
  readonly status?: UserStatus
}

/** What `users.update` changes; `authid` never changes. */
export type UserChanges = Partial<Omit<UserInput, 'authid'>>

/** One system a user is assigned to, with its method and (optionally) a fixed channel. */
export interface AssignmentInput {
  readonly system: string
  readonly method: Method
  readonly channel?: Channel | null
}

/** Manages an account's users and which systems they may access. */
export interface UsersAdmin {
  create(input: UserInput): Promise<User>
  /** `null` removes a contact point or the display name. */
  update(authid: string, changes: UserChanges): Promise<User>
  get(authid: string): Promise<User | null>
  /** Users by authid; pass the returned `next` as `after` for the following page. */
  list(options?: {
    readonly after?: string
    readonly limit?: number
  }): Promise<{ users: User[]; next: string | null }>
  /** Grants several systems at once, each with one method the system enables; all or none. */
  assign(authid: string, assignments: readonly AssignmentInput[]): Promise<Assignment[]>
  assignments(authid: string): Promise<Assignment[]>
  /** Lifts a lock (S17) and clears the failure streak and any delay; audited. */
  unlock(authid: string): Promise<{ wasLocked: boolean }>
  /** Deletes the user, their contact points, assignments and challenges; the audit keeps its events. */
  remove(authid: string): Promise<void>
  /**
   * Sets the user's memorized PIN (S10 refuses weak ones), or clears it with null. The PIN is only
   * ever an extra layer. Audited.
   */
  setPin(authid: string, pin: string | null): Promise<void>
  /**
   * The user sets their own memorized PIN within 5 minutes of an authenticated login, whose challenge
   * id is the proof. A user who already has a PIN may change it only after a login that asked for it.
   */
  setPinAfterLogin(input: {
    readonly system: string
    readonly authid: string
    readonly challengeId: string
    readonly pin: string
  }): Promise<void>
}

/** How long after an authenticated login its challenge id lets the user set a PIN. */
export const PIN_SETUP_WINDOW_MS = 5 * 60_000

/** A user row as the admin surface shows it: never the PIN hash. */
export const toUser = (row: UserRow): User => ({
  id: row.id,
  authid: row.authid,
  displayName: row.displayName,
  email: row.email,
  phone: row.phone,
  locale: row.locale,
  attributes: row.attributes,
  hasMemorizedPin: row.memorizedPinHash !== null,
  status: row.status,
  createdAt: new Date(row.createdAt),
  updatedAt: new Date(row.updatedAt),
})

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string')
  // S30: a display name reaches message bodies, where CR/LF would let it write lines of its own.
  const text = requireWellFormed(refuseControlCharacters(value, field), field).normalize('NFKC').trim()
  if (text.length > max) throw new ValidationError(field, `must be at most ${max} characters`)
  return text.length === 0 ? null : text
}

/** Administrators set `active` or `disabled`; `locked` comes only from failures and leaves only by `unlock`. */
function requireStatus(value: unknown, current: UserStatus | null): UserStatus {
  if (value !== 'active' && value !== 'disabled')
    throw new ValidationError('status', "must be 'active' or 'disabled'")
  if (current === 'locked')
    throw new ValidationError('status', 'a locked user leaves that status only by users.unlock')
  return value
}

function contactFields(input: UserChanges, current: UserRow | null) {
  const has = (key: keyof UserChanges) => Object.hasOwn(input, key)
  /** A field that null clears: parsed when given, null when given as null, else the current value. */
  const clearable = <K extends 'email' | 'phone' | 'locale'>(key: K, parse: (value: unknown) => string) =>
    has(key) ? (input[key] === null ? null : parse(input[key])) : (current?.[key] ?? null)
  return {
    displayName: has('displayName')
      ? optionalText(input.displayName, 'displayName', 256)
      : (current?.displayName ?? null),
    email: clearable('email', (value) => normalizeEmail(String(value ?? ''))),
    phone: clearable('phone', (value) => normalizePhone(String(value ?? ''))),
    locale: clearable('locale', (value) => requireLocale(value, 'locale')),
    attributes: has('attributes')
      ? (requireContext(input.attributes ?? {}, 'attributes') ?? {})
      : (current?.attributes ?? {}),
    status: has('status')
      ? requireStatus(input.status, current?.status ?? null)
      : (current?.status ?? 'active'),
  }
}

/** The users admin of one account. */
export function usersAdmin(
  ctx: EngineContext,
  accountId: string,
  actor: string,
  ready: () => Promise<void>,
): UsersAdmin {
  const { storage, clock } = ctx
  const load = async (authid: string) => {
    const row = await storage.users.getUser(accountId, requireName(authid, 'authid'))
    if (!row) throw new NotFoundError('user', authid)
    return row
  }
  const named = async (rows: Awaited<ReturnType<typeof storage.users.listAssignments>>) => {
    const systems = new Map((await storage.systems.listSystems(accountId)).map((s) => [s.id, s.name]))
    return rows.map((a) => ({
      system: systems.get(a.systemId) ?? a.systemId,
      method: a.method,
      channel: a.channel,
    }))
  }
  return {
    async create(input) {
      requireObject(input, 'user')
      await ready()
      const now = clock.now()
      const row: UserRow = {
        id: newId(),
        accountId,
        authid: requireName(input.authid, 'authid'),
        ...contactFields(input, null),
        memorizedPinHash: null,
        failureStreak: 0,
        retryAfter: null,
        createdAt: now,
        updatedAt: now,
      }
      await storage.users.insertUser(row, [
        adminAudit(accountId, actor, now, 'user.created', { authid: row.authid }),
      ])
      return toUser(row)
    },
    async update(authid, changes) {
      requireObject(changes, 'changes')
      const current = await load(authid)
      const now = clock.now()
      const row: UserRow = { ...current, ...contactFields(changes, current), updatedAt: now }
      const changed = Object.keys(changes).filter((key) => key !== 'authid')
      await storage.users.updateUser(row, [
        adminAudit(accountId, actor, now, 'user.updated', { authid: row.authid, details: { changed } }),
      ])
      return toUser(row)
    },
    async get(authid) {
      const row = await storage.users.getUser(accountId, requireName(authid, 'authid'))
      return row ? toUser(row) : null
    },
    async list(options = {}) {
      const limit = options.limit ?? 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new ValidationError('limit', 'must be a whole number from 1 to 1000')
      const rows = await storage.users.listUsers(accountId, {
        ...(options.after !== undefined ? { afterAuthid: requireName(options.after, 'after') } : {}),
        limit: limit + 1,
      })
      const page = rows.slice(0, limit)
      return {
        users: page.map(toUser),
        next: rows.length > limit ? (page[page.length - 1]?.authid ?? null) : null,
      }
    },
    async assign(authid, assignments) {
      if (!Array.isArray(assignments) || assignments.length === 0)
        throw new ValidationError('assignments', 'must list at least one system')
      const user = await load(authid)
      const seen = new Set<string>()
      const rows = []
      for (const [i, item] of (assignments as readonly AssignmentInput[]).entries()) {
        const field = `assignments[${i}]`
        requireObject(item, field)
        const systemName = requireName(item.system, `${field}.system`)
        if (seen.has(systemName)) throw new ValidationError(`${field}.system`, 'is listed twice')
        seen.add(systemName)
        const system = await storage.systems.getSystem(accountId, systemName)
        if (!system) throw new ValidationError(`${field}.system`, `no system named '${systemName}'`)
        if (!METHODS.includes(item.method))
          throw new ValidationError(`${field}.method`, `must be one of ${METHODS.join(', ')}`)
        const policy = system.policies[item.method]
        if (!policy.enabled)
          throw new ValidationError(
            `${field}.method`,
            `'${item.method}' is not enabled on '${systemName}' (its policies.${item.method}.enabled is false; update the system with policies: { ${item.method}: { enabled: true } } first)`,
          )
        const channel = item.channel ?? null
        if (channel !== null && !CHANNELS.includes(channel))
          throw new ValidationError(`${field}.channel`, `must be one of ${CHANNELS.join(', ')}`)
        if (channel !== null && !policy.channels.includes(channel))
          throw new ValidationError(
            `${field}.channel`,
            `'${channel}' is not allowed for ${item.method} on '${systemName}'`,
          )
        const usable = (channel ? [channel] : policy.channels).filter((c: Channel) =>
          c === 'email' ? user.email : user.phone,
        )
        if (usable.length === 0)
          throw new ValidationError(
            `${field}.channel`,
            `the user has no ${channel ? channel : policy.channels.join(' or ')} contact point`,
          )
        rows.push({ userId: user.id, systemId: system.id, method: item.method, channel })
      }
      await storage.users.saveAssignments(user.id, rows, [
        adminAudit(accountId, actor, clock.now(), 'user.assigned', {
          authid: user.authid,
          details: {
            assignments: assignments.map((a) => ({
              system: a.system,
              method: a.method,
              channel: a.channel ?? null,
            })),
          },
        }),
      ])
      return named(await storage.users.listAssignments(user.id))
    },
    async assignments(authid) {
      return named(await storage.users.listAssignments((await load(authid)).id))
    },
    async unlock(authid) {
      const user = await load(authid)
      const now = clock.now()
      const wasLocked = await storage.users.unlockUser(user.id, now, [
        adminAudit(accountId, actor, now, 'user.unlocked', {
          authid: user.authid,
          details: { status: user.status },
        }),
      ])
      return { wasLocked }
    },
    async remove(authid) {
      const user = await load(authid)
      const now = clock.now()
      if (
        !(await storage.users.removeUser(user.id, [
          adminAudit(accountId, actor, now, 'user.removed', { authid: user.authid }),
        ]))
      )
        throw new NotFoundError('user', authid)
    },
    async setPin(authid, pin) {
      const user = await load(authid)
      const hash = pin === null ? null : await ctx.memorizedPins.hash(requireMemorizedPin(pin))
      const now = clock.now()
      await storage.users.setMemorizedPin(user.id, hash, now, [
        adminAudit(accountId, actor, now, pin === null ? 'user.pin.cleared' : 'user.pin.set', {
          authid: user.authid,
        }),
      ])
    },
    async setPinAfterLogin(input) {
      requireObject(input, 'input')
      const user = await load(input.authid)
      const system = requireName(input.system, 'system')
      const pin = requireMemorizedPin(input.pin)
      const challenge =
        typeof input.challengeId === 'string' && input.challengeId.length <= 64
          ? await storage.logins.getChallenge(input.challengeId)
          : null
      const now = clock.now()
      const proves =
        challenge !== null &&
        challenge.accountId === accountId &&
        challenge.userId === user.id &&
        challenge.systemName === system &&
        challenge.status === 'authenticated' &&
        challenge.completedAt !== null &&
        now - challenge.completedAt <= PIN_SETUP_WINDOW_MS &&
        // Whoever holds only the inbox must not replace a PIN the user already has.
        (user.memorizedPinHash === null || challenge.extraLayer === 'memorized_pin')
      if (!proves)
        throw new ValidationError(
          'challengeId',
          'must name this user’s login on this system, authenticated in the last 5 minutes (with the current PIN, to change it)',
        )
      await storage.users.setMemorizedPin(user.id, await ctx.memorizedPins.hash(pin), now, [
        adminAudit(accountId, 'user', now, 'user.pin.set', {
          authid: user.authid,
          system,
          challengeId: challenge.id,
          details: { via: 'login' },
        }),
      ])
    },
  }
}

import { randomBytes } from 'node:crypto'
import { ConflictError, StorageError, ValidationError } from '../domain/errors.js'
import { contextString } from '../domain/login-input.js'
import { newId, sha256Hex } from '../domain/secrets.js'
import type { ConsoleSessionRow, ConsoleSessionStore } from '../ports/console-session-store.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { AuditDraft, ChallengeRow, UserRow } from '../ports/storage.js'
import { adminAudit } from './account-admin.js'
import { CONSOLE_SYSTEM, type ConsoleRole, consoleRoleOf } from './console-access.js'

// Server-side sessions of the administration console (S24). The cookie carries a 256-bit token from
// node:crypto; storage keeps only its SHA-256. A session opens only on a login of the console system
// that `check` answered `authenticated` in the last five minutes, once per login; it ends when idle,
// at its absolute expiry, on sign-out or revocation, and as soon as its user is disabled, locked,
// removed or loses the console role.

/** How long a session lives. */
export interface SessionLimits {
  /** Ends after this long without a request. */
  readonly idleMs: number
  /** Ends this long after sign-in, however active. */
  readonly absoluteMs: number
}

/** 30 idle minutes, 12 hours in all. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 }
/** Creating API keys and changing security settings needs a login this recent. */
export const FRESH_LOGIN_MS = 5 * 60_000
/** A login authenticated longer ago than this opens no session. */
const SIGN_IN_WINDOW_MS = 5 * 60_000
/** `lastSeenAt` is written at most once a minute, not on every request. */
const TOUCH_INTERVAL_MS = 60_000
const TOKEN = /^[A-Za-z0-9_-]{43}$/

/** A session as the console sees it: who, which role, and whether their last login is fresh. */
export interface ConsoleSession {
  readonly id: string
  readonly accountId: string
  readonly userId: string
  readonly authid: string
  readonly role: ConsoleRole
  readonly createdAt: Date
  readonly lastSeenAt: Date
  readonly authenticatedAt: Date
  /** Whether the last login is at most `FRESH_LOGIN_MS` old. */
  readonly fresh: boolean
  readonly expiresAt: Date
  readonly ip: string | null
  readonly userAgent: string | null
}

/** Why a login opens no session (or refreshes none). */
export type SessionRefusal = 'not_authenticated' | 'not_administrator' | 'used'

/** Opening and refreshing a session answer with results, never exceptions, for expected refusals. */
export type SessionResult =
  | { readonly result: 'opened'; readonly token: string; readonly session: ConsoleSession }
  | { readonly result: 'refused'; readonly reason: SessionRefusal }

/** Where the request came from, for the session list and the audit. */
export interface SessionContext {
  readonly ip?: string
  readonly userAgent?: string
}

/** The console's sessions, over the engine's storage (`engine.consoleSessions()`). */
export interface ConsoleSessions {
  /** Opens a session on the strength of `challengeId`, a console login `check` answered `authenticated`. */
  open(
    input: { readonly accountId: string; readonly challengeId: string } & SessionContext,
  ): Promise<SessionResult>
  /** The live session a cookie's token names, or null (unknown, revoked, idle, expired, demoted). */
  resolve(token: string): Promise<ConsoleSession | null>
  /** Makes the session's login fresh again with a new authenticated console login of the same user. */
  reauthenticate(token: string, challengeId: string): Promise<SessionResult>
  /** The holder's own live sessions, newest first. */
  list(token: string): Promise<ConsoleSession[]>
  /** Revokes one of the holder's own sessions; false when it is not theirs or already ended. */
  revoke(token: string, id: string): Promise<boolean>
  /** Ends the session the token names. */
  signOut(token: string): Promise<void>
  /** Deletes ended sessions; the server runs it periodically. */
  sweep(): Promise<number>
}

/** The audit's actor for an administrator: `console:` and their authid (or user id when too long). */
export function consoleActor(session: { readonly authid: string; readonly userId: string }): string {
  const byName = `console:${session.authid}`
  return byName.length <= 64 ? byName : `console:${session.userId}`
}

/** The console's sessions over the engine's storage; throws when the storage has no session store. */
export function consoleSessions(ctx: EngineContext, limits: Partial<SessionLimits> = {}): ConsoleSessions {
  const store = ctx.storage.consoleSessions
  // The console's screens read through the admin query store: a storage without either cannot host it.
  const missing = [
    store ? null : 'no console session store (Storage.consoleSessions)',
    ctx.storage.adminQueries ? null : 'no admin query store (Storage.adminQueries)',
  ].filter(Boolean)
  if (!store || missing.length > 0)
    throw new StorageError(`this storage has ${missing.join(' and ')}, so it cannot host the console`)
  const { idleMs, absoluteMs } = { ...DEFAULT_SESSION_LIMITS, ...limits }
  for (const [field, value] of Object.entries({ idleMs, absoluteMs }))
    if (!Number.isSafeInteger(value) || value < 60_000)
      throw new ValidationError(field, 'must be a whole number of milliseconds, at least 60000')
  const { storage, clock } = ctx

  const view = (row: ConsoleSessionRow, role: ConsoleRole, now: number): ConsoleSession => ({
    id: row.id,
    accountId: row.accountId,
    userId: row.userId,
    authid: row.authid,
    role,
    createdAt: new Date(row.createdAt),
    lastSeenAt: new Date(row.lastSeenAt),
    authenticatedAt: new Date(row.authenticatedAt),
    fresh: now - row.authenticatedAt <= FRESH_LOGIN_MS,
    expiresAt: new Date(Math.min(row.expiresAt, row.lastSeenAt + idleMs)),
    ip: row.ip,
    userAgent: row.userAgent,
  })
  const live = (row: ConsoleSessionRow, now: number) =>
    row.revokedAt === null && now < row.expiresAt && now < row.lastSeenAt + idleMs
  const audit = (
    row: Pick<ConsoleSessionRow, 'accountId' | 'authid' | 'userId'>,
    type: string,
    fields: Partial<AuditDraft> = {},
  ) => adminAudit(row.accountId, consoleActor(row), clock.now(), type, { authid: row.authid, ...fields })

  /** The authenticated console login behind `challengeId`, and its user with their role, or why not. */
  type Proof =
    | { readonly refused: SessionRefusal; readonly challenge?: ChallengeRow }
    | {
        readonly refused: null
        readonly challenge: ChallengeRow
        readonly user: UserRow
        readonly role: ConsoleRole
      }
  const provenLogin = async (accountId: string, challengeId: string, now: number): Promise<Proof> => {
    if (typeof challengeId !== 'string' || challengeId.length === 0 || challengeId.length > 64)
      return { refused: 'not_authenticated' as const }
    const challenge = await storage.logins.getChallenge(challengeId)
    if (
      !challenge ||
      challenge.accountId !== accountId ||
      challenge.systemName !== CONSOLE_SYSTEM ||
      challenge.status !== 'authenticated' ||
      challenge.completedAt === null ||
      now - challenge.completedAt > SIGN_IN_WINDOW_MS
    )
      return { refused: 'not_authenticated' as const }
    const user = await storage.users.getUser(accountId, challenge.authid)
    const role = user && user.id === challenge.userId ? consoleRoleOf(user.attributes) : null
    if (!user || !role || user.status !== 'active')
      return { refused: 'not_administrator' as const, challenge }
    return { refused: null, challenge, user, role }
  }

  const holderOf = async (token: string) => {
    if (typeof token !== 'string' || !TOKEN.test(token)) return null
    const found = await (store as ConsoleSessionStore).find(sha256Hex(token), CONSOLE_SYSTEM)
    const now = clock.now()
    if (!found || !live(found.session, now)) return null
    const role = consoleRoleOf(found.userAttributes)
    if (!role || !found.assigned || found.userStatus !== 'active') return null
    return { row: found.session, role, now }
  }

  return {
    async open(input) {
      const now = clock.now()
      const proof = await provenLogin(input.accountId, input.challengeId, now)
      if (proof.refused !== null) {
        if (proof.refused === 'not_administrator' && proof.challenge)
          await storage.audit.appendAudit([
            adminAudit(input.accountId, 'console', now, 'console.signed_in', {
              authid: proof.challenge.authid,
              challengeId: proof.challenge.id,
              outcome: 'security error',
              details: { refused: 'not an active administrator' },
            }),
          ])
        return { result: 'refused', reason: proof.refused }
      }
      const token = randomBytes(32).toString('base64url')
      const row: ConsoleSessionRow = {
        id: newId(),
        tokenHash: sha256Hex(token),
        accountId: input.accountId,
        userId: proof.user.id,
        authid: proof.user.authid,
        challengeId: proof.challenge.id,
        createdAt: now,
        lastSeenAt: now,
        authenticatedAt: now,
        expiresAt: now + absoluteMs,
        revokedAt: null,
        ip: contextString(input, 'ip'),
        userAgent: contextString(input, 'userAgent'),
      }
      try {
        await store.insert(row, [
          audit(row, 'console.signed_in', {
            challengeId: row.challengeId,
            ip: row.ip,
            userAgent: row.userAgent,
            details: { session: row.id, role: proof.role },
          }),
        ])
      } catch (error) {
        if (error instanceof ConflictError) return { result: 'refused', reason: 'used' }
        throw error
      }
      return { result: 'opened', token, session: view(row, proof.role, now) }
    },

    async resolve(token) {
      const holder = await holderOf(token)
      if (!holder) return null
      const { row, role, now } = holder
      if (now - row.lastSeenAt >= TOUCH_INTERVAL_MS) await store.touch(row.id, now, TOUCH_INTERVAL_MS)
      return view({ ...row, lastSeenAt: Math.max(row.lastSeenAt, now) }, role, now)
    },

    async reauthenticate(token, challengeId) {
      const holder = await holderOf(token)
      if (!holder) return { result: 'refused', reason: 'not_authenticated' }
      const { row, now } = holder
      const proof = await provenLogin(row.accountId, challengeId, now)
      if (proof.refused !== null) return { result: 'refused', reason: proof.refused }
      if (proof.user.id !== row.userId) return { result: 'refused', reason: 'not_authenticated' }
      // Only a login completed after the session's last proof counts; the same one twice is a replay.
      if (proof.challenge.id === row.challengeId || (proof.challenge.completedAt ?? 0) <= row.authenticatedAt)
        return { result: 'refused', reason: 'used' }
      try {
        const moved = await store.reauthenticate(row.id, proof.challenge.id, now, [
          audit(row, 'console.reauthenticated', {
            challengeId: proof.challenge.id,
            details: { session: row.id },
          }),
        ])
        if (!moved) return { result: 'refused', reason: 'not_authenticated' }
      } catch (error) {
        if (error instanceof ConflictError) return { result: 'refused', reason: 'used' }
        throw error
      }
      const session = view({ ...row, authenticatedAt: now, lastSeenAt: now }, proof.role, now)
      return { result: 'opened', token, session }
    },

    async list(token) {
      const holder = await holderOf(token)
      if (!holder) return []
      const rows = await store.list(holder.row.accountId, holder.row.userId, holder.now)
      return rows.filter((row) => live(row, holder.now)).map((row) => view(row, holder.role, holder.now))
    },

    async revoke(token, id) {
      const holder = await holderOf(token)
      if (!holder || typeof id !== 'string' || id.length > 64) return false
      const { row, now } = holder
      return store.revoke(row.accountId, row.userId, id, now, [
        audit(row, id === row.id ? 'console.signed_out' : 'console.session.revoked', {
          details: { session: id },
        }),
      ])
    },

    async signOut(token) {
      const holder = await holderOf(token)
      if (!holder) return
      await this.revoke(token, holder.row.id)
    },

    async sweep() {
      const now = clock.now()
      return store.sweep(now, now - idleMs)
    },
  }
}

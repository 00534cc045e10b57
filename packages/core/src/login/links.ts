import { transitionTo } from '../domain/challenge-lifecycle.js'
import { ValidationError } from '../domain/errors.js'
import { contextString } from '../domain/login-input.js'
import type { SecurityReason } from '../domain/model.js'
import { sha256Hex } from '../domain/secrets.js'
import { isAllowedReturnUrl } from '../policy/account-settings.js'
import { type EngineContext, emit } from '../ports/engine-context.js'
import type { AuditDraft, ChallengeRow } from '../ports/storage.js'
import { countFailure, failureOf } from './failure-streaks.js'
import { issueCompletion } from './same-device.js'

/** What a link's confirm page may show. Never the token or anything secret. */
export interface LinkView {
  /**
   * `pending` can be confirmed; the others explain why it cannot (`disabled`: the administrator turned
   * sign-in by link off for the system while it waited).
   */
  /** `closed`: too many wrong match codes were typed on its page (S12). */
  readonly status: 'pending' | 'used' | 'closed' | 'expired' | 'superseded' | 'disabled' | 'unknown'
  readonly accountId?: string
  readonly system?: string
  readonly startedAt?: Date
  readonly expiresAt?: Date
  /** Where the attempt came from, as the host passed it in the start context. */
  readonly ip?: string
  readonly userAgent?: string
  /** The page must ask for the code the host showed where the login started (S12). */
  readonly numberMatching?: boolean
  /**
   * Same device: the origin of the return URL the login named, where confirming will send this
   * browser (the page's CSP must allow its form to end there).
   */
  readonly returnOrigin?: string
}

export type ConfirmResult =
  | {
      readonly result: 'confirmed'
      readonly accountId: string
      readonly system: string
      /** Where to send the user back to, when the system has one on a still-allowed origin. */
      readonly returnUrl: string | null
      /**
       * Same device: the login's return URL with a single-use completion `code`. The page sends this
       * browser there (303); the host's back end redeems the code. Absent when there is none to issue.
       */
      readonly completionUrl?: string
    }
  | { readonly result: Exclude<LinkView['status'], 'pending'> }
  /** Number matching: the code was missing or wrong; `final` when that burned the link. */
  | { readonly result: 'wrong_code'; readonly final: boolean }

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32}$/

/** Whether `token` has a link token's shape (32 nanoid characters, S3): anything else is no link. */
export function isLinkTokenShape(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_SHAPE.test(token)
}

function viewOf(row: ChallengeRow | null, now: number): LinkView {
  if (row?.method !== 'passwordless') return { status: 'unknown' }
  const status: LinkView['status'] =
    row.status === 'pending'
      ? now >= row.expiresAt
        ? 'expired'
        : 'pending'
      : row.status === 'expired'
        ? 'expired'
        : row.status === 'superseded'
          ? 'superseded'
          : row.status === 'failed'
            ? 'closed'
            : 'used'
  const ip = row.context?.ip
  const userAgent = row.context?.userAgent
  return {
    status,
    accountId: row.accountId,
    system: row.systemName,
    startedAt: new Date(row.createdAt),
    expiresAt: new Date(row.expiresAt),
    ...(typeof ip === 'string' ? { ip } : {}),
    ...(typeof userAgent === 'string' ? { userAgent } : {}),
    ...(row.matchCode !== null ? { numberMatching: true } : {}),
    ...(row.returnUrl ? { returnOrigin: new URL(row.returnUrl).origin } : {}),
  }
}

/** Reads what a link would confirm. Changes nothing: mail scanners fetch links too (S11). */
export async function inspectLink(ctx: EngineContext, token: string): Promise<LinkView> {
  if (!isLinkTokenShape(token)) return { status: 'unknown' }
  const row = await ctx.storage.logins.getChallengeByLinkHash(sha256Hex(token))
  const view = viewOf(row, ctx.clock.now())
  if (row && view.status === 'pending' && !(await systemOf(ctx, row)).enabled)
    return { ...view, status: 'disabled' }
  return view
}

/** The challenge's system, and whether sign-in by link is still on there. */
async function systemOf(ctx: EngineContext, row: ChallengeRow) {
  const system = await ctx.storage.systems.getSystem(row.accountId, row.systemName)
  return { system, enabled: system?.policies.passwordless.enabled === true }
}

/** The system's return URL while its origin is still one the account allows; the account is read only then. */
async function allowedReturnUrl(
  ctx: EngineContext,
  system: Awaited<ReturnType<typeof systemOf>>['system'],
  accountId: string,
): Promise<string | null> {
  if (!system?.returnUrl) return null
  const account = await ctx.storage.accounts.getAccount(accountId)
  return isAllowedReturnUrl(system.returnUrl, account?.settings.returnOrigins ?? []) ? system.returnUrl : null
}

/** What the confirming request brings besides the token. */
export interface ConfirmOptions {
  /** The code the host showed where the login started, when the link asks for one (S12). */
  readonly matchCode?: string
  /** The confirming browser's address and user agent, for the audit (S25). */
  readonly ip?: string
  readonly userAgent?: string
}

/** The `link.confirmed` event of a confirm attempt, with the confirming browser's address (S25). */
function confirmAudit(
  row: ChallengeRow,
  at: number,
  from: ConfirmOptions,
  outcome: string,
  reason: SecurityReason | null,
): AuditDraft {
  return {
    accountId: row.accountId,
    at,
    type: 'link.confirmed',
    actor: 'user',
    system: row.systemName,
    authid: row.authid,
    challengeId: row.id,
    outcome,
    reason,
    ip: contextString(from, 'ip'),
    userAgent: contextString(from, 'userAgent'),
    details: null,
  }
}

/** Consumes a link once: one conditional write moves its challenge from `pending` to `confirmed`. */
export async function confirmLink(
  ctx: EngineContext,
  token: string,
  options: ConfirmOptions = {},
): Promise<ConfirmResult> {
  if (!isLinkTokenShape(token)) return { result: 'unknown' }
  const matchCode = typeof options.matchCode === 'string' ? options.matchCode.trim().slice(0, 8) : null
  const hash = sha256Hex(token)
  const now = ctx.clock.now()
  // A method turned off while the link waited confirms nothing; check then ends the login.
  const before = await ctx.storage.logins.getChallengeByLinkHash(hash)
  const owner = before?.method === 'passwordless' ? await systemOf(ctx, before) : null
  if (owner && !owner.enabled && viewOf(before, now).status === 'pending') return { result: 'disabled' }
  const confirmed = await ctx.storage.logins.confirmLink(
    hash,
    now,
    (row) => confirmAudit(row, now, options, 'success', null),
    matchCode,
  )
  if (confirmed) {
    emit(ctx, 'challenge.confirmed', {
      accountId: confirmed.accountId,
      challengeId: confirmed.id,
      system: confirmed.systemName,
      authid: confirmed.authid,
      method: confirmed.method,
      at: new Date(now),
    })
    const returnUrl = await allowedReturnUrl(ctx, owner?.system ?? null, confirmed.accountId)
    const completionUrl = await issueCompletion(ctx, confirmed)
    return {
      result: 'confirmed',
      accountId: confirmed.accountId,
      system: confirmed.systemName,
      returnUrl,
      ...(completionUrl ? { completionUrl } : {}),
    }
  }
  const row = await ctx.storage.logins.getChallengeByLinkHash(hash)
  const view = viewOf(row, now)
  if (row && view.status === 'pending' && row.matchCode !== null) return wrongCode(ctx, row, now, options)
  // A row still `pending` here means it expired between our write and this read.
  return { result: view.status === 'pending' ? 'expired' : view.status }
}

/**
 * A missing or wrong match code: storage already spent one of the challenge's attempts before it
 * compared the code (so parallel guesses cannot outrun the budget); with none left, the link burns.
 */
async function wrongCode(
  ctx: EngineContext,
  row: ChallengeRow,
  now: number,
  from: ConfirmOptions,
): Promise<ConfirmResult> {
  const audit = (outcome: string, reason: 'wrong_code' | 'attempts_exhausted') =>
    confirmAudit(row, now, from, outcome, reason)
  const final = row.attempts >= row.maxAttempts
  const burned =
    final && (await ctx.storage.logins.transitionChallenge(transitionTo('burnMatchCode', row.id, now), []))
  // A wrong code is a failed attempt of this user like a wrong PIN: it counts toward the streak (S17).
  const account = await ctx.storage.accounts.getAccount(row.accountId)
  const lockout = account ? ctx.effective(account.settings).lockout : undefined
  const drafts = [
    audit('security error', 'wrong_code'),
    ...(burned ? [audit('security error', 'attempts_exhausted')] : []),
  ]
  if (lockout)
    await countFailure(ctx, failureOf(row.userId, now, lockout, audit('locked', 'wrong_code')), drafts)
  else await ctx.storage.audit.appendAudit(drafts)
  return { result: 'wrong_code', final }
}

/** The links' base URL as `createEngine` takes it (`links.baseUrl`): absolute http(s), without a trailing slash. */
export function parseBaseUrl(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('links.baseUrl', 'must be a URL')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ValidationError('links.baseUrl', 'must be an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValidationError('links.baseUrl', 'must be an http(s) URL')
  return url.href.replace(/\/+$/, '')
}

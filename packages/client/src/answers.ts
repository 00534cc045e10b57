import { type Reply, unexpectedReply } from './transport.js'
import type {
  CheckAnswer,
  DeliveryState,
  Layer,
  Method,
  RateLimitedAnswer,
  RedeemAnswer,
  SecurityErrorAnswer,
  SecurityReason,
  StartAnswer,
  StartedAnswer,
} from './types.js'

/** An answer, and for `rate limited` how long the server asked to wait (header first, then body). */
export interface Reading<A> {
  readonly answer: A
  readonly retryAfterMs?: number | undefined
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isString = (value: unknown): value is string => typeof value === 'string'

const isLayer = (value: unknown): value is Layer =>
  value === 'passwordless' || value === 'pin' || value === 'memorized_pin'

const isDelivery = (value: unknown): value is DeliveryState =>
  value === 'queued' || value === 'sent' || value === 'failed'

/** Milliseconds from a `Retry-After` header: delay-seconds or an HTTP date. */
export function retryAfterHeaderMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function rateLimited(reply: Reply, body: Record<string, unknown>, now: number): Reading<RateLimitedAnswer> {
  const headerMs = retryAfterHeaderMs(reply.headers.get('retry-after'), now)
  const bodyAt = isString(body.retryAfter) ? Date.parse(body.retryAfter) : Number.NaN
  const bodyMs = Number.isNaN(bodyAt) ? undefined : Math.max(0, bodyAt - now)
  const retryAfter = new Date(Number.isNaN(bodyAt) ? now + (headerMs ?? 0) : bodyAt)
  return { answer: { result: 'rate limited', retryAfter }, retryAfterMs: headerMs ?? bodyMs }
}

const securityError = (body: Record<string, unknown>): SecurityErrorAnswer | undefined =>
  body.result === 'security error' && isString(body.reason)
    ? { result: 'security error', reason: body.reason as SecurityReason }
    : undefined

function started(body: Record<string, unknown>): StartedAnswer {
  const expiresAt = isString(body.expiresAt) ? new Date(body.expiresAt) : undefined
  return {
    result: 'success',
    ...(isString(body.challengeId) && { challengeId: body.challengeId }),
    ...(expiresAt !== undefined && !Number.isNaN(expiresAt.getTime()) && { expiresAt }),
    ...(isString(body.method) && { method: body.method as Method }),
    ...(isString(body.channel) && { channel: body.channel as StartedAnswer['channel'] }),
    ...(isDelivery(body.delivery) && { delivery: body.delivery }),
    ...(Array.isArray(body.layers) && body.layers.every(isLayer) && { layers: body.layers as Layer[] }),
    ...(isString(body.matchCode) && { matchCode: body.matchCode }),
  }
}

/** Maps a `/v1/start` reply to its answer; throws `FlexSecureHttpError` outside the contract. */
export function readStart(reply: Reply, now: number): Reading<StartAnswer> {
  const { status, body } = reply
  if (isRecord(body)) {
    if (status === 200 && body.result === 'success') return { answer: started(body) }
    const refused = status === 403 ? securityError(body) : undefined
    if (refused !== undefined) return { answer: refused }
    if (status === 429 && body.result === 'rate limited') return rateLimited(reply, body, now)
  }
  throw unexpectedReply('POST /v1/start', reply)
}

/** Maps a `/v1/check` reply to its answer; throws `FlexSecureHttpError` outside the contract. */
export function readCheck(reply: Reply, now: number): Reading<CheckAnswer> {
  const { status, body } = reply
  if (isRecord(body)) {
    if (status === 200 && body.result === 'authenticated' && isString(body.challengeId))
      return { answer: { result: 'authenticated', challengeId: body.challengeId } }
    if (status === 202 && body.result === 'pending' && isString(body.challengeId) && isString(body.method))
      return {
        answer: {
          result: 'pending',
          challengeId: body.challengeId,
          method: body.method as Method,
          ...(isString(body.channel) && { channel: body.channel as StartedAnswer['channel'] }),
          ...(isDelivery(body.delivery) && { delivery: body.delivery }),
          ...(isLayer(body.next) && { next: body.next }),
        },
      }
    if (status === 403 && body.result === 'expired') return { answer: { result: 'expired' } }
    const refused = status === 403 ? securityError(body) : undefined
    if (refused !== undefined) return { answer: refused }
    if (status === 429 && body.result === 'rate limited') return rateLimited(reply, body, now)
  }
  throw unexpectedReply('POST /v1/check', reply)
}

/** Maps a `/v1/redeem` reply to its answer; throws `FlexSecureHttpError` outside the contract. */
export function readRedeem(reply: Reply): RedeemAnswer {
  const { status, body } = reply
  if (isRecord(body)) {
    if (
      status === 200 &&
      body.result === 'authenticated' &&
      isString(body.system) &&
      isString(body.authid) &&
      isString(body.challengeId)
    )
      return {
        result: 'authenticated',
        system: body.system,
        authid: body.authid,
        challengeId: body.challengeId,
      }
    const refused = status === 403 ? securityError(body) : undefined
    if (refused !== undefined) return refused
  }
  throw unexpectedReply('POST /v1/redeem', reply)
}

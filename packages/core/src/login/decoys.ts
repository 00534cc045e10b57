import { createHmac, hkdfSync, randomInt } from 'node:crypto'
import type { Channel, Method } from '../domain/model.js'
import { randomBytesPooled, timeOfPrefix, timePrefix } from '../domain/secrets.js'
import { DEFAULT_POLICIES, MAX_LIFETIME_SECONDS, MIN_LIFETIME_SECONDS } from '../policy/system-policy.js'
import type { DecoyLogin, Decoys, DecoyTarget } from '../ports/login-guards.js'
import type { SystemRow } from '../ports/rows.js'

// A decoy id has a real id's shape (`newTimeOrderedId`): 8 characters of the start's time, then 16 of
// base64url that read as random: a nonce, and under a keystream from it the lifetime, the method, the
// channel and a tag over (account, system, authid). 12 bytes in all.
const NONCE_BYTES = 4
const BODY_BYTES = 8 // lifetime in seconds (3), flags (1), tag (4)
const TAG_BYTES = 4
/** The flag bits in use: bit 0 a PIN, bit 1 SMS. An id with another set is not a decoy. */
const FLAGS = 0b11
/** Decoys kept opened (`openOnce`): those polled lately. */
const OPENED_KEPT = 10_000

/** Whether a link start on `system` shows a code in uniform mode: when any of its rules asks for one (S12). */
export function matchesNumbersInUniformMode(system: SystemRow | null): boolean {
  return system?.rules.rules.some((rule) => rule.effect.numberMatching === true) ?? false
}

/** Sets `key` in a map kept to `max` entries, the oldest going first. */
function keepBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value as string)
}

/** The method and channel a real start on this system would most likely name. */
function decoyShape(target: DecoyTarget): { method: Method; channel: Channel; lifetimeSeconds: number } {
  const policies = target.systemRow?.policies ?? DEFAULT_POLICIES
  const method: Method =
    target.assignment?.method ??
    (policies.passwordless.enabled || !policies.pin.enabled ? 'passwordless' : 'pin')
  const channel = target.assignment?.channel ?? policies[method].channels[0] ?? 'email'
  return { method, channel, lifetimeSeconds: policies[method].lifetimeSeconds }
}

/**
 * S20: with `uniformResponses`, a refused `start` answers like a real one, with a decoy challenge id
 * (and a decoy match code where the system matches numbers), and a `check` naming that id answers
 * like a real unconfirmed challenge until it expires. Nothing is stored: the id itself carries its
 * expiry and method, sealed under a key from the engine secret and bound to (account, system,
 * authid). Without the key it reads as a real id does (`newTimeOrderedId`: the start's time in
 * milliseconds, then 96 random bits), and its `expiresAt` is that time plus the lifetime, as a real
 * one's is. What a real challenge remembers between checks (its PIN attempts, that `expired` was
 * answered once) lives in this process's memory, bounded.
 */
export function decoys(secret: string, maxRemembered = 100_000): Decoys {
  const key = Buffer.from(hkdfSync('sha256', secret, 'flexsecure', 'decoy-challenge-v1', 32))
  const mac = (...parts: (string | Buffer)[]) => {
    const hmac = createHmac('sha256', key)
    for (const part of parts) hmac.update(typeof part === 'string' ? `${part}\u0000` : part)
    return hmac.digest()
  }
  /** Attempts taken and whether the final answer was given, per decoy seen by a check. */
  const remembered = new Map<string, { attempts: number; ended: boolean }>()
  const memory = (id: string) => {
    let entry = remembered.get(id)
    if (!entry) {
      entry = { attempts: 0, ended: false }
      keepBounded(remembered, id, entry, maxRemembered)
    }
    return entry
  }
  /** XORs `body` with the keystream of (time prefix, nonce), in place: seals it, or opens it again. */
  const crypt = (body: Buffer, prefix: string, nonce: Buffer) => {
    const stream = mac('stream', prefix, nonce)
    for (let i = 0; i < BODY_BYTES; i++) body[i] = (body[i] as number) ^ (stream[i] as number)
  }

  const seal = (login: DecoyLogin, at: number, lifetimeSeconds: number, method: Method, channel: Channel) => {
    const prefix = timePrefix(at)
    const nonce = randomBytesPooled(NONCE_BYTES)
    const body = Buffer.alloc(BODY_BYTES)
    body.writeUIntBE(lifetimeSeconds, 0, 3)
    body[3] = (method === 'pin' ? 1 : 0) | (channel === 'sms' ? 2 : 0)
    mac('tag', login.accountId, login.system, login.authid, prefix, nonce, body.subarray(0, 4)).copy(
      body,
      4,
      0,
      TAG_BYTES,
    )
    crypt(body, prefix, nonce)
    return prefix + Buffer.concat([nonce, body]).toString('base64url')
  }

  const open = (
    id: string,
    login: DecoyLogin,
  ): { expiresAt: number; method: Method; channel: Channel } | null => {
    if (!/^[A-Za-z0-9_-]{24}$/.test(id)) return null
    const prefix = id.slice(0, 8)
    const at = timeOfPrefix(prefix)
    if (at === null) return null
    const raw = Buffer.from(id.slice(8), 'base64url')
    const nonce = raw.subarray(0, NONCE_BYTES)
    const body = Buffer.from(raw.subarray(NONCE_BYTES))
    crypt(body, prefix, nonce)
    const tag = mac('tag', login.accountId, login.system, login.authid, prefix, nonce, body.subarray(0, 4))
    if (!tag.subarray(0, TAG_BYTES).equals(body.subarray(4))) return null
    // What no decoy carries is refused too: beyond the tag, about 20 more bits an id must get right.
    const flags = body[3] as number
    const lifetime = body.readUIntBE(0, 3)
    if ((flags & ~FLAGS) !== 0 || lifetime < MIN_LIFETIME_SECONDS || lifetime > MAX_LIFETIME_SECONDS)
      return null
    return {
      expiresAt: at + lifetime * 1000,
      method: flags & 1 ? 'pin' : 'passwordless',
      channel: flags & 2 ? 'sms' : 'email',
    }
  }

  // Decoys issued or opened lately, by id and the names they were issued for: a real pending poll costs no
  // HMAC, so a decoy's poll costs none either once it is known here (S20; two HMACs, 0.008 ms, otherwise).
  type Opened = NonNullable<ReturnType<typeof open>>
  const opened = new Map<string, Opened>()
  const keyOf = (id: string, login: DecoyLogin) =>
    `${id}\u0000${login.accountId}\u0000${login.system}\u0000${login.authid}`
  const openOnce = (id: string, login: DecoyLogin) => {
    const key = keyOf(id, login)
    const known = opened.get(key)
    if (known) return known
    const decoy = open(id, login)
    if (decoy) keepBounded(opened, key, decoy, OPENED_KEPT)
    return decoy
  }

  return {
    start(target, now) {
      const { method, channel, lifetimeSeconds } = decoyShape(target)
      // As a real start writes them: the id begins with the time, `expiresAt` that plus the lifetime.
      const at = Math.floor(now)
      const lifetime = Math.min(Math.max(lifetimeSeconds, MIN_LIFETIME_SECONDS), MAX_LIFETIME_SECONDS)
      const expiresAt = at + lifetime * 1000
      const challengeId = seal(target, at, lifetime, method, channel)
      keepBounded(opened, keyOf(challengeId, target), { expiresAt, method, channel }, OPENED_KEPT)
      return {
        result: 'success',
        challengeId,
        expiresAt: new Date(expiresAt),
        method,
        channel,
        delivery: 'queued',
        layers: [method],
        ...(method === 'passwordless' && matchesNumbersInUniformMode(target.systemRow)
          ? { matchCode: String(randomInt(1000)).padStart(3, '0') }
          : {}),
      }
    },
    check(challengeId, login, pin, now, attempts = DEFAULT_POLICIES.pin.attempts) {
      const decoy = openOnce(challengeId, login)
      if (!decoy) return null
      const state = remembered.get(challengeId)
      if (state?.ended) return { result: 'security error', reason: 'no_pending_challenge' }
      if (now >= decoy.expiresAt) {
        // A real challenge answers `expired` once, then nothing is pending.
        memory(challengeId).ended = true
        return { result: 'expired' }
      }
      if (pin === null)
        return {
          result: 'pending',
          challengeId,
          method: decoy.method,
          channel: decoy.channel,
          delivery: 'sent',
          next: decoy.method,
        }
      if (decoy.method !== 'pin') return { result: 'security error', reason: 'wrong_method' }
      const entry = memory(challengeId)
      entry.attempts++
      if (entry.attempts < attempts) return { result: 'security error', reason: 'wrong_pin' }
      entry.ended = true
      return { result: 'security error', reason: 'attempts_exhausted' }
    },
  }
}

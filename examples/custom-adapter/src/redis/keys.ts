// Where the Redis storage keeps each row and index. Every key starts with the storage's prefix, so
// several storages (a test run each) share one Redis without seeing each other.
//
// Rows are JSON strings, one key each: a row is read and written whole, and WATCH on its key is
// the row lock of an optimistic transaction. Indexes are kept in the same MULTI as the row they
// index, so they never disagree with it at a commit:
// - a unique index is a hash from the value to the row's id (`systemsByName` per account), or a
//   string key per value (`apiKeyBySha256`, `challengeByLinkHash`);
// - an order is a sorted set (`userOrder`, lexicographic: Redis compares bytes, and UTF-8 bytes sort
//   as code points do, which is the order the SQL storages use);
// - a due time is a sorted set scored by that time (`liveChallenges` by expiry, `unfinishedDeliveries`
//   by when they may next be claimed).

export type RedisKeys = ReturnType<typeof redisKeys>

/** The keys of one storage, all under `prefix`. */
export function redisKeys(prefix: string) {
  return {
    /** The schema version `migrate` writes. */
    schema: `${prefix}schema`,

    /** Row: AccountRow with its settings as given. */
    account: (id: string) => `${prefix}account:${id}`,
    /** Sorted set of account ids (all scores 0: lexicographic). */
    accounts: `${prefix}accounts`,

    /** Row: ApiKeyRow. */
    apiKey: (id: string) => `${prefix}api-key:${id}`,
    /** Unique index: the key's id. */
    apiKeyBySha256: (sha256: string) => `${prefix}api-key-sha256:${sha256}`,
    /** Sorted set of an account's key ids by creation time. */
    accountApiKeys: (accountId: string) => `${prefix}account:${accountId}:api-keys`,

    /** Row: SystemRow. */
    system: (id: string) => `${prefix}system:${id}`,
    /** Unique index: hash from a system's exact name to its id. */
    systemsByName: (accountId: string) => `${prefix}account:${accountId}:systems`,

    /** Row: UserRow. */
    user: (id: string) => `${prefix}user:${id}`,
    /** Unique index: hash from a user's exact authid to its id. */
    usersByAuthid: (accountId: string) => `${prefix}account:${accountId}:users`,
    /** Sorted set of authids (all scores 0), for paging users in authid order. */
    userOrder: (accountId: string) => `${prefix}account:${accountId}:user-order`,
    /** Row: an assignment, with the challenge it points at. */
    assignment: (userId: string, systemId: string) => `${prefix}assignment:${userId}:${systemId}`,
    /** Set of the system ids a user is assigned to. */
    userSystems: (userId: string) => `${prefix}user:${userId}:systems`,
    /** Set of a user's challenge ids (for removing a user with them). */
    userChallenges: (userId: string) => `${prefix}user:${userId}:challenges`,
    /** Sorted set of a user's authenticated challenge ids by completion time (`userHistory`). */
    userSuccesses: (userId: string) => `${prefix}user:${userId}:successes`,

    /** Row: a challenge as stored (without `delivery`, which is read from the delivery). */
    challenge: (id: string) => `${prefix}challenge:${id}`,
    /** Unique index: the challenge's id. */
    challengeByLinkHash: (linkHash: string) => `${prefix}challenge-link:${linkHash}`,
    /** Sorted set of live (pending, confirmed) challenge ids by expiry (`expireDue`). */
    liveChallenges: `${prefix}challenges:live`,
    /** Sorted set of ended challenge ids by expiry (`purgeEndedChallenges`). */
    endedChallenges: `${prefix}challenges:ended`,

    /** Row: DeliveryRow. */
    delivery: (id: string) => `${prefix}delivery:${id}`,
    /** Sorted set of a challenge's delivery ids by creation time. */
    challengeDeliveries: (challengeId: string) => `${prefix}challenge:${challengeId}:deliveries`,
    /** Sorted set of queued and failed delivery ids by the time they may next be claimed. */
    unfinishedDeliveries: `${prefix}deliveries:unfinished`,

    /** Row: one send-limit window, `{ count, windowEnd }`. */
    sendLimit: (key: string) => `${prefix}send-limit:${key}`,
    /** Sorted set of send-limit keys by the end of their window (`sweepRateLimits`). */
    sendLimits: `${prefix}send-limits`,

    /** Row: an account's audit head. Every append moves it, so it is what appends WATCH. */
    auditHead: (accountId: string) => `${prefix}audit:${accountId}:head`,
    /** Sorted set of an account's sealed events (JSON members) by sequence number. */
    auditEvents: (accountId: string) => `${prefix}audit:${accountId}:events`,
    /** Sorted set of an account's sequence numbers by event time (what `purgeAudit` cuts by). */
    auditTimes: (accountId: string) => `${prefix}audit:${accountId}:times`,
  }
}

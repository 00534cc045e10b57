import type { ChallengeTransition, IssueOutcome, LoginStore } from '@flexsecure/core'
import { sql } from 'kysely'
import { failureStreakQueries } from './failure-streak-queries.js'
import { literals, param, prepare } from './prepared-query.js'
import { purgeEndedChallenges } from './retention-queries.js'
import {
  ACCOUNT_COLUMNS,
  ASSIGNMENT_COLUMNS,
  CHALLENGE_COLUMNS,
  challengeParams,
  columnsOf,
  DELIVERY_COLUMNS,
  deliveryParams,
  LIVE,
  LOGIN_SYSTEM_COLUMNS,
  prefixed,
  qualified,
  toAccount,
  toAssignment,
  toChallenge,
  toPollView,
  toSystem,
  toUser,
  USER_COLUMNS,
} from './row-mapping.js'
import { DEFERRED, type SqlExecutor } from './sql-executor.js'
import { columnParams, Rollback, type StoreContext } from './store-context.js'

// A login's moves in SQL: the one read of start and check, issuing a challenge (send limits,
// supersession, outbox rows and audit in one transaction), and each later move of the challenge as
// one conditional UPDATE.

export function loginStore(ctx: StoreContext): LoginStore {
  const { db, exec, dialect, guard, answering, one } = ctx
  const limitWindowEnd = prepare<{ key: string }>(
    db.selectFrom('fs_rate_limits').select('window_end').where('key', '=', param('key')),
  )
  const sweepRateLimits = prepare<{ at: number }>(
    db.deleteFrom('fs_rate_limits').where('window_end', '<=', param('at')),
  )
  // Issuing: the pointer moves first (locking the assignment row) and remembers what it replaced.
  const pointAssignment = prepare<{ user_id: string; system_id: string; challenge_id: string }>(
    db
      .updateTable('fs_assignments')
      .set((eb) => ({ previous_challenge_id: eb.ref('challenge_id'), challenge_id: param('challenge_id') }))
      .where('user_id', '=', param('user_id'))
      .where('system_id', '=', param('system_id')),
  )
  const supersede = prepare<{ user_id: string; system_id: string; at: number }>(
    db
      .updateTable('fs_challenges')
      .set({ status: 'superseded', completed_at: param('at') })
      .where('id', '=', (eb) =>
        eb
          .selectFrom('fs_assignments')
          .select('previous_challenge_id')
          .where('user_id', '=', param('user_id'))
          .where('system_id', '=', param('system_id')),
      )
      .where('status', 'in', literals(LIVE)),
  )
  const insertChallenge = prepare<ReturnType<typeof challengeParams>>(
    db.insertInto('fs_challenges').values(columnParams(CHALLENGE_COLUMNS)),
  )
  const insertDelivery = prepare<ReturnType<typeof deliveryParams>>(
    db.insertInto('fs_deliveries').values(columnParams(DELIVERY_COLUMNS)),
  )
  const getChallenge = prepare<{ id: string }>(
    db
      .selectFrom('fs_challenges as c')
      .leftJoin('fs_deliveries as dl', 'dl.id', 'c.delivery_id')
      .select([...qualified('c', CHALLENGE_COLUMNS), 'dl.status as delivery_status'])
      .where('c.id', '=', param('id')),
  )
  const getChallengeByLinkHash = prepare<{ link_hash: string }>(
    db.selectFrom('fs_challenges').select(CHALLENGE_COLUMNS).where('link_hash', '=', param('link_hash')),
  )
  const confirmLink = dialect.updateReturning<
    { link_hash: string; at: number; match_code: string | null },
    Record<string, unknown>,
    'fs_challenges'
  >(
    db
      .updateTable('fs_challenges')
      .set({ status: 'confirmed', attempts: 0 })
      .where('link_hash', '=', param('link_hash'))
      .where('status', '=', 'pending')
      .where('expires_at', '>', param('at'))
      .where((eb) => eb.or([eb('match_code', 'is', null), eb('match_code', '=', param('match_code'))])),
    { table: 'fs_challenges', key: 'link_hash', columns: CHALLENGE_COLUMNS },
  )
  // Number matching (S12): every guess at the code takes an attempt before it is compared, so
  // however many arrive at once, at most the budget is ever compared.
  const reserveMatchAttempt = prepare<{ link_hash: string; at: number }>(
    db
      .updateTable('fs_challenges')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('link_hash', '=', param('link_hash'))
      .where('status', '=', 'pending')
      .where('expires_at', '>', param('at'))
      .where('match_code', 'is not', null)
      .whereRef('attempts', '<', 'max_attempts'),
  )
  // A PIN attempt taken: alone (reserveAttempt, `accept` 0) or, for a PIN verified before it
  // (settlePinAttempt), with the right PIN's move in the same statement, the same right or wrong (`accept`
  // only changes values).
  const takeAttempt = dialect.updateReturning<
    {
      id: string
      at: number
      status: string
      accept: number
      to: string
      moved_at: number
      reported: number
    },
    { attempts: number; max_attempts: number },
    'fs_challenges'
  >(
    db
      .updateTable('fs_challenges')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        status: sql<string>`CASE WHEN ${param('accept')} = 1 THEN ${param('to')} ELSE ${sql.ref('status')} END`,
        // As `transition` below: `confirmed` is a step on the way, not an end.
        completed_at: sql<number>`CASE WHEN ${param('accept')} = 1 AND ${param('to')} <> 'confirmed' THEN COALESCE(${sql.ref('completed_at')}, ${param('moved_at')}) ELSE ${sql.ref('completed_at')} END`,
        outcome_reported: sql<number>`CASE WHEN ${param('accept')} = 1 THEN ${param('reported')} ELSE ${sql.ref('outcome_reported')} END`,
      }))
      .where('id', '=', param('id'))
      .where('status', '=', param('status'))
      .where('expires_at', '>', param('at'))
      .where('outcome_reported', '=', 0)
      .whereRef('attempts', '<', 'max_attempts'),
    { table: 'fs_challenges', key: 'id', columns: ['attempts', 'max_attempts'] },
  )
  const userHistory = prepare<{ user_id: string; device: string }>(
    db
      .selectFrom('fs_challenges')
      .select((eb) => [
        eb.fn.max('completed_at').as('last_success_at'),
        eb.fn
          .max(sql<number>`CASE WHEN ${sql.ref('device')} = ${param('device')} THEN 1 ELSE 0 END`)
          .as('known'),
      ])
      .where('user_id', '=', param('user_id'))
      .where('status', '=', sql.lit('authenticated')),
  )
  const transition = prepare<{
    id: string
    from1: string
    from2: string
    to: string
    at: number
    reported: number
    reset_attempts: number
  }>(
    db
      .updateTable('fs_challenges')
      .set(() => ({
        status: param('to'),
        // `confirmed` is a step on the way (a link confirmed, a first layer passed), not an end.
        completed_at: sql<number>`CASE WHEN ${param('to')} = 'confirmed' THEN ${sql.ref('completed_at')} ELSE COALESCE(${sql.ref('completed_at')}, ${param('at')}) END`,
        outcome_reported: param('reported'),
        // The next layer gets the whole attempt budget.
        attempts: sql<number>`CASE WHEN ${param('reset_attempts')} = 1 THEN 0 ELSE ${sql.ref('attempts')} END`,
      }))
      .where('id', '=', param('id'))
      .where('status', 'in', [param('from1'), param('from2')])
      .where('outcome_reported', '=', 0),
  )
  const failures = failureStreakQueries(ctx)
  /** One conditional move of a challenge; whether it moved. */
  const moveChallenge = async (tx: SqlExecutor, move: ChallengeTransition) =>
    (await tx.run(
      transition.sql,
      transition.bind({
        id: move.id,
        from1: move.from[0],
        from2: move.from[1] ?? move.from[0],
        to: move.to,
        at: move.at,
        reported: move.reported ? 1 : 0,
        reset_attempts: move.resetAttempts ? 1 : 0,
      }),
    )) === 1
  const { resolveLogin, pollLogin } = resolveLoginQuery(ctx)

  return {
    resolveLogin,
    pollLogin,
    issueChallenge: (challenge, audit, limits, deliveries = []) =>
      guard('issueChallenge', () =>
        answering<IssueOutcome>(async (tx) => {
          const now = challenge.createdAt
          const refused = await dialect.takeSendLimits(tx, limits, now)
          if (refused) {
            const [window] = await tx.all<{ window_end: number }>(
              limitWindowEnd.sql,
              limitWindowEnd.bind({ key: refused.key }),
            )
            throw new Rollback<IssueOutcome>({
              issued: false,
              reason: 'rate_limited',
              key: refused.key,
              retryAfter: Number(window?.window_end ?? now + refused.windowMs),
            })
          }
          const pair = { user_id: challenge.userId, system_id: challenge.systemId }
          // Pointing the assignment first write-locks its row, so a concurrent start for the same pair
          // waits here; it remembers the challenge it replaced, which is superseded next.
          const pointed = await tx.run(
            pointAssignment.sql,
            pointAssignment.bind({ ...pair, challenge_id: challenge.id }),
          )
          if (pointed !== 1) throw new Rollback<IssueOutcome>({ issued: false, reason: 'not_assigned' })
          await tx.run(supersede.sql, supersede.bind({ ...pair, at: now }))
          await tx.run(insertChallenge.sql, insertChallenge.bind(challengeParams(challenge)))
          for (const delivery of deliveries)
            await tx.run(insertDelivery.sql, insertDelivery.bind(deliveryParams(delivery)))
          await ctx.appendAudit(tx, audit)
          return { issued: true }
        }),
      ),
    userHistory: (userId, device) =>
      guard('userHistory', async () => {
        const [row] = await exec.all<{ last_success_at: unknown; known: unknown }>(
          userHistory.sql,
          userHistory.bind({ user_id: userId, device: device ?? '' }),
        )
        const last = row?.last_success_at
        return {
          lastSuccessAt: last === null || last === undefined ? null : Number(last),
          knownDevice: device !== null && Number(row?.known ?? 0) === 1,
        }
      }),
    getChallenge: (id) =>
      guard('getChallenge', () => one(getChallenge.sql, getChallenge.bind({ id }), toChallenge)),
    getChallengeByLinkHash: (linkHash) =>
      guard('getChallengeByLinkHash', () =>
        one(getChallengeByLinkHash.sql, getChallengeByLinkHash.bind({ link_hash: linkHash }), toChallenge),
      ),
    confirmLink: (linkHash, at, audit, matchCode = null) =>
      guard('confirmLink', () =>
        exec.transaction(async (tx) => {
          // A link without a code (the usual one) confirms in one statement. A link with one: every
          // try, a missing code included, first takes an attempt; none left, and nothing confirms.
          let [row] = await confirmLink.run(tx, { link_hash: linkHash, at, match_code: null })
          if (!row) {
            const reserved = await tx.run(
              reserveMatchAttempt.sql,
              reserveMatchAttempt.bind({ link_hash: linkHash, at }),
            )
            if (reserved === 1 && matchCode !== null)
              [row] = await confirmLink.run(tx, { link_hash: linkHash, at, match_code: matchCode })
          }
          if (!row) return null
          const confirmed = toChallenge(row)
          await ctx.appendAudit(tx, [audit(confirmed)])
          return confirmed
          // Deferred (docs/decisions.md): a confirmation precedes no message.
        }, DEFERRED),
      ),
    reserveAttempt: (id, at, status = 'pending') =>
      guard('reserveAttempt', async () => {
        // Deferred (docs/decisions.md): an attempt precedes no message.
        const [row] = await takeAttempt.runAlone(
          exec,
          { id, at, status, accept: 0, to: status, moved_at: at, reported: 0 },
          DEFERRED,
        )
        return row ? Number(row.attempts) : null
      }),
    settlePinAttempt: (id, at, status, verdict) =>
      guard('settlePinAttempt', () =>
        exec.transaction(async (tx) => {
          const move = verdict.right ? verdict.move : null
          const [row] = await takeAttempt.run(tx, {
            id,
            at,
            status,
            accept: move ? 1 : 0,
            to: move?.to ?? status,
            moved_at: move?.at ?? at,
            reported: move?.reported ? 1 : 0,
          })
          if (!row) return null
          const attempts = Number(row.attempts)
          if (verdict.right) {
            if (verdict.resetFailuresOf !== undefined) await failures.reset(tx, verdict.resetFailuresOf)
            await ctx.appendAudit(tx, verdict.audit)
          } else {
            if (attempts >= Number(row.max_attempts)) await moveChallenge(tx, verdict.burn)
            await failures.count(tx, verdict.failure, verdict.audit(attempts))
          }
          return attempts
          // Deferred (docs/decisions.md): an attempt, and check's moves, precede no message.
        }, DEFERRED),
      ),
    transitionChallenge: (move, audit, resetFailuresOf) =>
      guard('transitionChallenge', () =>
        exec.transaction(async (tx) => {
          if (!(await moveChallenge(tx, move))) return false
          if (resetFailuresOf !== undefined) await failures.reset(tx, resetFailuresOf)
          await ctx.appendAudit(tx, audit)
          return true
          // Deferred (docs/decisions.md): check's moves precede no message.
        }, DEFERRED),
      ),
    expireDue: (at, limit, audit) =>
      guard('expireDue', () =>
        exec.transaction(async (tx) => {
          const rows = (await dialect.expireDue.run(tx, { at, limit })).map(toChallenge)
          await ctx.appendAudit(tx, rows.map(audit))
          return rows
        }),
      ),
    sweepRateLimits: (at) =>
      guard('sweepRateLimits', () => exec.run(sweepRateLimits.sql, sweepRateLimits.bind({ at }))),
    purgeEndedChallenges: (before, limit) =>
      guard('purgeEndedChallenges', () => purgeEndedChallenges(db, exec, before, limit)),
  }
}

// The one read of a login's start and check (LoginStore.resolveLogin): the account, then whatever
// exists of system, user, assignment and the assignment's current challenge, in one joined row. It
// starts from `fs_accounts`, so an unknown system is told apart from an unknown account.

function resolveLoginQuery(
  ctx: StoreContext,
): Pick<LoginStore, 'resolveLogin'> & Required<Pick<LoginStore, 'pollLogin'>> {
  const { db, exec, guard } = ctx
  type Names = { account_id: string; system: string; authid: string }
  const subjectJoins = db
    .selectFrom('fs_accounts as acc')
    .leftJoin('fs_systems as s', (join) =>
      join.onRef('s.account_id', '=', 'acc.id').on('s.name', '=', param('system')),
    )
    .leftJoin('fs_users as u', (join) =>
      join.onRef('u.account_id', '=', 'acc.id').on('u.authid', '=', param('authid')),
    )
    .leftJoin('fs_assignments as a', (join) =>
      join.onRef('a.user_id', '=', 'u.id').onRef('a.system_id', '=', 's.id'),
    )
    .leftJoin('fs_challenges as c', 'c.id', 'a.challenge_id')
    .leftJoin('fs_deliveries as dl', 'dl.id', 'c.delivery_id')
    .where('acc.id', '=', param('account_id'))
  const resolve = prepare<Names>(
    subjectJoins.select([
      'dl.status as c_delivery_status',
      ...prefixed('acc', ACCOUNT_COLUMNS),
      ...prefixed('s', LOGIN_SYSTEM_COLUMNS),
      ...prefixed('u', USER_COLUMNS),
      ...prefixed('a', ASSIGNMENT_COLUMNS),
      ...prefixed('c', CHALLENGE_COLUMNS),
    ]),
  )
  // A check's view: the same joins, 21 columns of the 58 (a row exactly when the account exists).
  const poll = prepare<Names>(
    subjectJoins.select([
      'acc.settings as acc_settings',
      's.id as s_id',
      's.policies as s_policies',
      'u.id as u_id',
      'u.status as u_status',
      'u.failure_streak as u_failure_streak',
      'u.retry_after as u_retry_after',
      'a.user_id as a_user_id',
      'c.id as c_id',
      'c.account_id as c_account_id',
      'c.system_name as c_system_name',
      'c.authid as c_authid',
      'c.status as c_status',
      'c.method as c_method',
      'c.channel as c_channel',
      'c.attempts as c_attempts',
      'c.expires_at as c_expires_at',
      'c.outcome_reported as c_outcome_reported',
      'c.extra_layer as c_extra_layer',
      'c.delivery_id as c_delivery_id',
      'dl.status as c_delivery_status',
    ]),
  )
  const systemRules = prepare<{ id: string }>(
    db.selectFrom('fs_systems').select(['rules', 'rules_version']).where('id', '=', param('id')),
  )

  // Each system's rules by version: the login's read carries the version, the rules come from here,
  // read once per version (a changed version, in any process, is a miss). Bounded.
  const rulesCache = new Map<string, string | null>()
  async function rulesFor(systemId: string, version: number): Promise<string | null> {
    if (version === 0) return null
    const key = `${systemId}:${version}`
    const cached = rulesCache.get(key)
    if (cached !== undefined) return cached
    const [row] = await exec.all<{ rules: string | null; rules_version: number | null }>(
      systemRules.sql,
      systemRules.bind({ id: systemId }),
    )
    const text = row?.rules ?? null
    // Cache under the version read with the text: if an update landed in between, that is the newer pair.
    if (rulesCache.size >= 1000) rulesCache.delete(rulesCache.keys().next().value as string)
    rulesCache.set(`${systemId}:${Number(row?.rules_version ?? 0)}`, text)
    return text
  }

  // How the joined row splits back into its tables.
  const joined = {
    account: columnsOf('acc', ACCOUNT_COLUMNS, 'id'),
    system: columnsOf('s', LOGIN_SYSTEM_COLUMNS, 'id'),
    user: columnsOf('u', USER_COLUMNS, 'id'),
    assignment: columnsOf('a', ASSIGNMENT_COLUMNS, 'user_id'),
    challenge: columnsOf('c', [...CHALLENGE_COLUMNS, 'delivery_status'], 'id'),
  }

  const pollLogin: NonNullable<LoginStore['pollLogin']> = (accountId, system, authid) =>
    guard('pollLogin', async () => {
      const [row] = await exec.all(poll.sql, poll.bind({ account_id: accountId, system, authid }))
      return row ? toPollView(row) : null
    })

  const resolveLogin: LoginStore['resolveLogin'] = (accountId, system, authid) =>
    guard('resolveLogin', async () => {
      const [row] = await exec.all(resolve.sql, resolve.bind({ account_id: accountId, system, authid }))
      if (!row) return null
      const systemRow = joined.system(row)
      if (systemRow) systemRow.rules = await rulesFor(systemRow.id, Number(systemRow.rules_version ?? 0))
      const user = joined.user(row)
      const assignment = joined.assignment(row)
      const challenge = joined.challenge(row)
      return {
        account: toAccount(joined.account(row) as Record<string, unknown>),
        system: systemRow ? toSystem(systemRow) : null,
        user: user ? toUser(user) : null,
        assignment: assignment ? toAssignment(assignment) : null,
        challenge: challenge ? toChallenge(challenge) : null,
      }
    })
  return { resolveLogin, pollLogin }
}

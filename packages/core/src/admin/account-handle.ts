import type { CheckResult, StartResult, System } from '../domain/model.js'
import { type CheckInput, type CheckOptions, checkLogin } from '../login/check.js'
import { type RedeemResult, redeemCompletion } from '../login/same-device.js'
import {
  type SimulateResult,
  type StartInput,
  type StartOptions,
  simulateLogin,
  startLogin,
} from '../login/start.js'
import type { EngineContext } from '../ports/engine-context.js'
import { adminAudit } from './account-admin.js'
import { type AccountAudit, accountAudit } from './account-audit.js'
import { accountExists, type SettingsAdmin, type Settle, settingsAdmin } from './accounts-admin.js'
import type { AdminCheckpoints } from './admin-checkpoints.js'
import {
  type ConsoleAdmin,
  consoleAdmin,
  type DeliveriesAdmin,
  deliveriesAdmin,
  type MessagePreview,
  messagePreview,
  type StatsAdmin,
  statsAdmin,
  type UserSearch,
  userSearch,
} from './admin-insights.js'
import { type ApiKeysAdmin, apiKeysAdmin } from './api-keys-admin.js'
import { ensureSystem } from './setup-in-code.js'
import { type SystemInput, type SystemsAdmin, systemsAdmin } from './systems-admin.js'
import { type UsersAdmin, usersAdmin } from './users-admin.js'

/** Everything a host or an administrator does within one account. */
export interface AccountHandle {
  readonly id: string
  readonly systems: SystemsAdmin & {
    /**
     * Create-or-update for apps that configure in code: creates the system, or changes the fields
     * `input` gives where they differ (nothing is written, or audited, when none does).
     */
    ensure(input: SystemInput): Promise<System>
  }
  readonly users: UsersAdmin & UserSearch
  readonly apiKeys: ApiKeysAdmin
  /** The outbox, its waiting and abandoned messages (needs the storage's admin query store). */
  readonly deliveries: DeliveriesAdmin
  /** Login statistics and the overview (needs the storage's admin query store). */
  readonly stats: StatsAdmin
  /** Who may sign in to the administration console, with which role. */
  readonly console: ConsoleAdmin
  readonly settings: MessagePreview & SettingsAdmin
  /** Starts a login: sends a link or a PIN. Expected refusals are results, never exceptions. */
  start(input: StartInput, options?: StartOptions): Promise<StartResult>
  /** Polls a login, or submits its PIN. Answers `authenticated` once per challenge. */
  check(input: CheckInput, options?: CheckOptions): Promise<CheckResult>
  /** The decision a `start` would take for this request, with its explanation. Changes nothing. */
  simulate(input: StartInput): Promise<SimulateResult>
  /** Same device: spends a completion code issued by one of this account's logins (`links.redeem`). */
  redeem(code: string): Promise<RedeemResult>
  readonly audit: AccountAudit
}

/** What every account handle of one engine shares. */
export interface HandleParts {
  readonly settle: Settle
  readonly checkpoints: AdminCheckpoints
  /** The operator's minimum audit retention, in days (`ceilings.auditRetentionDays`). */
  readonly minAuditRetentionDays: number | undefined
}

/**
 * The handle of account `id`. `actor` names who acts in the audit trail: by default `admin` for admin
 * calls and `api` for logins (or the API key's id, when the caller passes it).
 */
export function accountHandle(
  ctx: EngineContext,
  id: string,
  actor: string | undefined,
  parts: HandleParts,
): AccountHandle {
  const admin = actor ?? 'admin'
  const loginActor = actor ?? 'api'
  const { checkpoints } = parts
  const ready = accountExists(ctx, id)
  const audit = (type: string, fields: Parameters<typeof adminAudit>[4]) =>
    adminAudit(id, admin, ctx.clock.now(), type, fields)
  const systemsBase = checkpoints.checkpointed(systemsAdmin(ctx, id, admin, ready), id)
  const systems = { ...systemsBase, ensure: (input: SystemInput) => ensureSystem(ctx, systemsBase, input) }
  const users = checkpoints.checkpointed({ ...usersAdmin(ctx, id, admin, ready), ...userSearch(ctx, id) }, id)
  return {
    id,
    systems,
    users,
    apiKeys: checkpoints.checkpointed(apiKeysAdmin(ctx, id, ready, audit), id),
    deliveries: deliveriesAdmin(ctx, id, admin),
    stats: statsAdmin(ctx, id),
    console: consoleAdmin({ systems, users }),
    settings: {
      ...messagePreview(ctx, id, systems),
      ...settingsAdmin(
        ctx,
        id,
        parts.settle,
        (changed) => audit('account.settings.updated', { details: { settings: changed } }),
        () => checkpoints.afterAdmin(id),
      ),
    },
    start: (input, options = {}) => startLogin(ctx, id, input, options, options.apiKeyId ?? loginActor),
    check: (input, options = {}) => checkLogin(ctx, id, input, options.apiKeyId ?? loginActor),
    simulate: (input) => simulateLogin(ctx, id, input),
    redeem: (code) => redeemCompletion(ctx, code, id, loginActor),
    audit: accountAudit(
      ctx,
      id,
      (type, details) => audit(type, { details }),
      parts.minAuditRetentionDays,
      checkpoints,
    ),
  }
}

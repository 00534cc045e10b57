import { NotFoundError, ValidationError } from '../domain/errors.js'
import { requireName } from '../domain/login-input.js'
import type { System } from '../domain/model.js'
import { newId } from '../domain/secrets.js'
import { type MessageSettings, resolveMessageSettings } from '../outbox/messages.js'
import { isAllowedReturnUrl } from '../policy/account-settings.js'
import {
  EMPTY_RULES,
  type Rule,
  requireSensitivity,
  type Sensitivity,
  validateRules,
} from '../policy/rules.js'
import { type PoliciesInput, resolvePolicies } from '../policy/system-policy.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { SystemRow } from '../ports/storage.js'
import { adminAudit, requireObject } from './account-admin.js'

/** A system as an administrator creates or changes it. */
export interface SystemInput {
  readonly name: string
  readonly policies?: PoliciesInput
  /** Where a confirmed link's page sends the user back: https, on an origin in `settings.returnOrigins`. */
  readonly returnUrl?: string | null
  /** What this system's messages say and who they come from, over the account's; null for the account's. */
  readonly messages?: MessageSettings | null
  /** `low`, `medium` (default) or `high`. */
  readonly sensitivity?: Sensitivity
  /** The adaptive rules, in order; replaces the current ones and bumps their version. */
  readonly rules?: readonly Rule[]
}

/** Manages an account's systems and their policies. */
export interface SystemsAdmin {
  create(input: SystemInput): Promise<System>
  /** Merges `changes.policies` over the current ones; the next `start` uses them. */
  update(name: string, changes: Partial<Omit<SystemInput, 'name'>>): Promise<System>
  get(name: string): Promise<System | null>
  list(): Promise<System[]>
}

const toSystem = (row: SystemRow): System => ({
  id: row.id,
  name: row.name,
  policies: row.policies,
  returnUrl: row.returnUrl,
  messages: row.messages,
  sensitivity: row.sensitivity,
  rules: row.rules.rules,
  rulesVersion: row.rules.version,
  rulesUpdatedAt: row.rules.updatedAt === null ? null : new Date(row.rules.updatedAt),
  rulesUpdatedBy: row.rules.updatedBy,
  createdAt: new Date(row.createdAt),
  updatedAt: new Date(row.updatedAt),
})

/** The systems admin of one account. */
export function systemsAdmin(
  ctx: EngineContext,
  accountId: string,
  actor: string,
  ready: () => Promise<void>,
): SystemsAdmin {
  const { storage, clock } = ctx
  const load = async (name: string) => {
    const row = await storage.systems.getSystem(accountId, requireName(name, 'name'))
    if (!row) throw new NotFoundError('system', name)
    return row
  }
  /** A return URL is https on an origin the account allows; checked again when a link is confirmed. */
  const returnUrlOf = async (value: unknown): Promise<string | null> => {
    if (value === undefined || value === null) return null
    if (typeof value !== 'string' || value.length > 2048)
      throw new ValidationError('returnUrl', 'must be a URL')
    const account = await storage.accounts.getAccount(accountId)
    if (!isAllowedReturnUrl(value, account?.settings.returnOrigins ?? []))
      throw new ValidationError('returnUrl', 'must be https on an origin listed in settings.returnOrigins')
    return new URL(value).href
  }
  return {
    async create(input) {
      requireObject(input, 'system')
      await ready()
      const now = clock.now()
      const row: SystemRow = {
        id: newId(),
        accountId,
        name: requireName(input.name, 'name'),
        policies: resolvePolicies(input.policies),
        returnUrl: await returnUrlOf(input.returnUrl),
        messages: resolveMessageSettings(input.messages, 'messages') ?? null,
        sensitivity: input.sensitivity === undefined ? 'medium' : requireSensitivity(input.sensitivity),
        rules:
          input.rules === undefined
            ? EMPTY_RULES
            : {
                version: 1,
                updatedAt: now,
                updatedBy: actor,
                rules: validateRules(input.rules, ctx.predicateNames),
              },
        createdAt: now,
        updatedAt: now,
      }
      await storage.systems.insertSystem(row, [
        adminAudit(accountId, actor, now, 'system.created', {
          system: row.name,
          details: { ...systemDetails(row), rulesVersion: row.rules.version },
        }),
      ])
      return toSystem(row)
    },
    async update(name, changes) {
      requireObject(changes, 'changes')
      const current = await load(name)
      const now = clock.now()
      const row = {
        ...current,
        policies: resolvePolicies(changes.policies, current.policies),
        returnUrl: Object.hasOwn(changes, 'returnUrl')
          ? await returnUrlOf(changes.returnUrl)
          : current.returnUrl,
        messages: Object.hasOwn(changes, 'messages')
          ? (resolveMessageSettings(changes.messages, 'messages') ?? null)
          : current.messages,
        sensitivity:
          changes.sensitivity === undefined ? current.sensitivity : requireSensitivity(changes.sensitivity),
        rules:
          changes.rules === undefined
            ? current.rules
            : {
                version: current.rules.version + 1,
                updatedAt: now,
                updatedBy: actor,
                rules: validateRules(changes.rules, ctx.predicateNames),
              },
        updatedAt: now,
      }
      await storage.systems.updateSystem(
        row,
        [
          adminAudit(accountId, actor, now, 'system.updated', {
            system: row.name,
            details: {
              ...systemDetails(row),
              // A rules change is recorded whole, with its version: the trail says who changed what when.
              ...(changes.rules !== undefined
                ? { rulesVersion: row.rules.version, rules: row.rules.rules }
                : {}),
            },
          }),
        ],
        current.updatedAt,
      )
      return toSystem(row)
    },
    async get(name) {
      const row = await storage.systems.getSystem(accountId, requireName(name, 'name'))
      return row ? toSystem(row) : null
    },
    async list() {
      return (await storage.systems.listSystems(accountId)).map(toSystem)
    },
  }
}

/** What the audit records of a system on every change: its settings, the rules aside. */
function systemDetails(row: SystemRow) {
  return {
    policies: row.policies,
    returnUrl: row.returnUrl,
    messages: row.messages,
    sensitivity: row.sensitivity,
  }
}

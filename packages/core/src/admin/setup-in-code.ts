import { ConflictError, ValidationError } from '../domain/errors.js'
import type { Account, System } from '../domain/model.js'
import { resolveMessageSettings } from '../outbox/messages.js'
import {
  type AccountSettings,
  type AccountSettingsInput,
  resolveSettings,
} from '../policy/account-settings.js'
import { validateRules } from '../policy/rule-validation.js'
import { resolvePolicies } from '../policy/system-policy.js'
import type { EngineContext } from '../ports/engine-context.js'
import type { SystemInput, SystemsAdmin } from './systems-admin.js'

// Idempotent boot: an app that configures FlexSecure in code runs the same setup
// on every start. `accounts.ensure` and `systems.ensure` make the second run a no-op instead of a
// ConflictError, and write (and audit) only what changed, so a restart leaves no noise in the trail.

/** JSON with sorted keys: two values equal in meaning compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  )
}
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b)

/** What `ensureAccount` needs of the engine: its accounts, and one account's settings. */
export interface AccountsForSetup {
  readonly accounts: {
    list(): Promise<Account[]>
    create(input: { readonly name: string; readonly settings?: AccountSettingsInput }): Promise<Account>
  }
  account(id: string): {
    readonly settings: {
      get(): Promise<AccountSettings>
      update(input: AccountSettingsInput): Promise<AccountSettings>
    }
  }
}

/** The first account named `name` (as `create` normalizes it), or a new one; `settings` applied where they differ. */
export async function ensureAccount(
  engine: AccountsForSetup,
  input: { readonly name: string; readonly settings?: AccountSettingsInput },
): Promise<Account> {
  const name = typeof input?.name === 'string' ? input.name.normalize('NFKC').trim() : ''
  if (name.length === 0 || name.length > 200) throw new ValidationError('name', 'must be 1 to 200 characters')
  const found = (await engine.accounts.list()).find((account) => account.name === name)
  if (!found) return engine.accounts.create({ ...input, name })
  if (input.settings !== undefined) {
    const handle = engine.account(found.id)
    const current = await handle.settings.get()
    if (!same(resolveSettings(input.settings, current), current)) await handle.settings.update(input.settings)
  }
  return found
}

/** Creates the system, or updates the fields `input` gives where they differ from the stored ones. */
export async function ensureSystem(
  ctx: EngineContext,
  systems: SystemsAdmin,
  input: SystemInput,
): Promise<System> {
  let current = await systems.get(input?.name)
  if (!current) {
    try {
      return await systems.create(input)
    } catch (error) {
      // Another process booting at the same moment created it first: then it is ours to compare.
      if (!(error instanceof ConflictError)) throw error
      current = await systems.get(input.name)
      if (!current) throw error
    }
  }
  const changes: { -readonly [K in keyof Omit<SystemInput, 'name'>]: SystemInput[K] } = {}
  if (
    input.policies !== undefined &&
    !same(resolvePolicies(input.policies, current.policies), current.policies)
  )
    changes.policies = input.policies
  if (input.sensitivity !== undefined && input.sensitivity !== current.sensitivity)
    changes.sensitivity = input.sensitivity
  if (input.rules !== undefined && !same(validateRules(input.rules, ctx.predicateNames), current.rules))
    changes.rules = input.rules
  if (
    Object.hasOwn(input, 'messages') &&
    !same(resolveMessageSettings(input.messages, 'messages') ?? null, current.messages)
  )
    changes.messages = input.messages ?? null
  if (Object.hasOwn(input, 'returnUrl')) {
    const wanted = typeof input.returnUrl === 'string' ? safeHref(input.returnUrl) : input.returnUrl
    if (wanted !== current.returnUrl) changes.returnUrl = input.returnUrl ?? null
  }
  return Object.keys(changes).length === 0 ? current : systems.update(current.name, changes)
}

/** A URL as the parser writes it (how systems store it), or the text itself for `update` to refuse. */
function safeHref(value: string): string {
  try {
    return new URL(value).href
  } catch {
    return value
  }
}

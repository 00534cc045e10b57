import type { CheckResult, StartResult } from '../domain/model.js'
import type { AssignmentRow, AuditDraft, SystemRow } from './rows.js'

// What `start` and `check` consult before any work (S19, S31) and answer refusals with in uniform
// mode (S20). Built by `login/login-throttle.ts` and `login/decoys.ts`; declared here so the engine
// context can carry them.

export type Operation = 'start' | 'check'

/**
 * The login throttle of one engine: request budgets per key and per account, poll budgets per login,
 * and the ledger of refusals that are counted instead of audited one by one.
 */
export interface LoginThrottle {
  /** S31: one call of `operation` by `actor` in the account; 0 when allowed, else ms to wait. Counted when refused. */
  admit(operation: Operation, accountId: string, actor: string, now: number): number
  /** S19: one check of the login `login` (a resolved id); 0 when allowed, else ms to wait. Counted when refused. */
  admitPoll(login: string, accountId: string, actor: string, now: number): number
  /** Whether a refusal that changes nothing gets its own audit event; if not, it was counted as `what`. */
  auditRefusal(accountId: string, actor: string, what: string, now: number): boolean
  /** Summary events of the windows that ended by `now` (all of them with `all`), ready to append. */
  drain(now: number, all?: boolean): AuditDraft[]
}

/** Who a decoy is for, as the request named them. */
export interface DecoyLogin {
  readonly accountId: string
  readonly system: string
  readonly authid: string
}

/** What the refused start knew: the system and the assignment when they exist. */
export interface DecoyTarget extends DecoyLogin {
  readonly systemRow: SystemRow | null
  readonly assignment: AssignmentRow | null
}

/** S20: decoy challenges for refused starts in uniform mode; nothing stored. */
export interface Decoys {
  /** The answer to a refused start in uniform mode. */
  start(target: DecoyTarget, now: number): Extract<StartResult, { result: 'success' }>
  /** The decoy's answer to a check, or null when `challengeId` is not a decoy of this login. */
  check(
    challengeId: string,
    login: DecoyLogin,
    pin: string | number | null,
    now: number,
    attempts?: number,
  ): CheckResult | null
}

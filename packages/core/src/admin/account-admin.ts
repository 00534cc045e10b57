import { ValidationError } from '../domain/errors.js'
import type { AuditDraft } from '../ports/storage.js'

// What every admin part of an account shares: the audit draft of an admin change, and the first
// check of an admin call's input. Systems are in `systems-admin.ts`, users in `users-admin.ts`.

/** The audit draft of an admin change in `accountId` by `actor`; `fields` fill in what it is about. */
export function adminAudit(
  accountId: string,
  actor: string,
  at: number,
  type: string,
  fields: Partial<AuditDraft>,
): AuditDraft {
  return {
    accountId,
    at,
    type,
    actor,
    system: null,
    authid: null,
    challengeId: null,
    outcome: 'success',
    reason: null,
    ip: null,
    userAgent: null,
    details: null,
    ...fields,
  }
}

/** Refuses `value` unless it is a plain object (not null, not an array). */
export function requireObject(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'must be an object')
}

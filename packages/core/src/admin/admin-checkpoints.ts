import type { AuditVerdict } from '../audit/audit-chain.js'
import {
  type CheckpointStore,
  checkAgainstCheckpoint,
  checkpointSigner,
  checkpointWriter,
} from '../audit/audit-checkpoints.js'
import type { EngineContext } from '../ports/engine-context.js'

// S34: signed audit checkpoints outside the database, written after every admin change and on
// `writeCheckpoints()`, so a trail rolled back or cut short later shows against the latest one.

/** The engine's use of a checkpoint store; with none, every part is a no-op. */
export interface AdminCheckpoints {
  /** After an admin change: the account's checkpoint. A failure is logged, never thrown at the caller. */
  afterAdmin(accountId: string): Promise<void>
  /** `target` with every method followed by `afterAdmin(accountId)`. */
  checkpointed<T extends object>(target: T, accountId: string): T
  /** Writes a checkpoint of every account whose audit head moved; returns how many. */
  writeAll(): Promise<number>
  /** A chain's verdict, checked against the account's latest checkpoint. */
  verify(accountId: string, verdict: AuditVerdict): Promise<AuditVerdict>
}

/** Checkpoints into `store` (or none, with null), signed under the engine's keyring. */
export function adminCheckpoints(ctx: EngineContext, store: CheckpointStore | null): AdminCheckpoints {
  const signer = checkpointSigner(ctx.keyring)
  const write = store
    ? checkpointWriter(ctx.storage, store, signer, () => ctx.clock.now())
    : async () => false
  const afterAdmin = async (accountId: string) => {
    try {
      await write(accountId)
    } catch (error) {
      ctx.logger.error('an audit checkpoint could not be written', { accountId, error: String(error) })
    }
  }
  return {
    afterAdmin,
    checkpointed(target, accountId) {
      if (!store) return target
      const wrapped: Record<string, unknown> = {}
      for (const [name, value] of Object.entries(target))
        wrapped[name] =
          typeof value === 'function'
            ? async (...args: unknown[]) => {
                const result = await value(...args)
                await afterAdmin(accountId)
                return result
              }
            : value
      return wrapped as typeof target
    },
    async writeAll() {
      let written = 0
      for (const row of await ctx.storage.accounts.listAccounts()) if (await write(row.id)) written += 1
      return written
    },
    verify: async (accountId, verdict) =>
      checkAgainstCheckpoint(ctx.storage, verdict, (await store?.latest(accountId)) ?? null, signer),
  }
}

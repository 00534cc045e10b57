import type { SecretStore } from '../ports/secret-store.js'
import { compareText, type MemoryStoreDeps } from './memory-tables.js'

// The in-memory storage's optional secret store (S33), with the semantics of
// adapters/kysely/src/secret-store-queries.ts: the fingerprint by compare-and-set, and the sealed
// payloads a rotation re-seals, each replaced only while unchanged.

const FINGERPRINT = 'secret_fingerprint'

/** The engine secret's fingerprint and the sealed outbox payloads, in memory. */
export function memorySecretStore({ tables, run }: MemoryStoreDeps): SecretStore {
  const values = tables.engineValues
  return {
    readFingerprint: () => run('secretStore.readFingerprint', () => values.get(FINGERPRINT)?.value ?? null),
    swapFingerprint: (expected, next) =>
      run('secretStore.swapFingerprint', () => {
        // Two first starts at once: one writes, the other changes nothing and reads again.
        if ((values.get(FINGERPRINT)?.value ?? null) !== expected) return false
        values.set(FINGERPRINT, { name: FINGERPRINT, value: next })
        return true
      }),
    sealedPayloads: (afterId, limit) =>
      run('secretStore.sealedPayloads', () =>
        tables.deliveries
          .values()
          .filter((d) => d.payload !== null && (afterId === null || compareText(d.id, afterId) > 0))
          .sort((a, b) => compareText(a.id, b.id))
          .slice(0, Math.max(0, limit))
          .map((d) => ({ id: d.id, payload: d.payload as string })),
      ),
    replacePayload: (id, previous, next) =>
      run('secretStore.replacePayload', () => {
        const row = tables.deliveries.get(id)
        if (!row || row.payload !== previous) return false
        tables.deliveries.set(id, { ...row, payload: next })
        return true
      }),
  }
}

/**
 * Optional storage ability (S33): where the engine keeps its secret's fingerprint, and access to the
 * sealed outbox payloads a rotation re-seals. Without it a storage works, but a process started with
 * another secret is not refused.
 */
export interface SecretStore {
  /** The stored fingerprint of the engine secret, or null before the first start. */
  readFingerprint(): Promise<string | null>
  /**
   * Writes `next` when the stored fingerprint is `expected` (null: none stored yet). False when another
   * process wrote first; the caller reads again.
   */
  swapFingerprint(expected: string | null, next: string): Promise<boolean>
  /** Deliveries that still hold a sealed payload, by ascending id after `afterId`, at most `limit`. */
  sealedPayloads(afterId: string | null, limit: number): Promise<{ id: string; payload: string }[]>
  /** Replaces a payload only while it is still `previous` (a send may have wiped it since). */
  replacePayload(id: string, previous: string, next: string): Promise<boolean>
}

/**
 * The create forms that made something, by their one-time field: reloading the page that showed a new API
 * key sends its form again, which must not make a second live key. Kept in this process's memory for
 * `ttlMs` (an hour), at most `max` (10,000) forms: a form sent again to another instance of a
 * load-balanced console is not caught. The map keeps its forms in the order they were claimed, so a
 * claim forgets the expired ones (or, past `max`, the oldest) from its front: no scan of the rest.
 */
export function sentForms(now: () => number, ttlMs = 3_600_000, max = 10_000) {
  const sent = new Map<string, { readonly at: number; readonly name: string }>()
  return {
    /** The name the form made something under before, or null (and the form is claimed) the first time. */
    claim(form: string, name: string): string | null {
      const at = now()
      const earlier = sent.get(form)
      if (earlier && at - earlier.at < ttlMs) return earlier.name
      sent.delete(form)
      for (const [id, entry] of sent) {
        if (sent.size < max && at - entry.at < ttlMs) break
        sent.delete(id)
      }
      sent.set(form, { at, name })
      return null
    },
    /** A form whose creation was refused may be sent again. */
    release(form: string): void {
      sent.delete(form)
    },
    /** How many forms are remembered. */
    get size(): number {
      return sent.size
    },
  }
}

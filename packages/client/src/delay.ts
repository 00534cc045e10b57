import type { Sleep } from './types.js'

/** The reason a signal aborted with, or a standard AbortError when it carries none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts, clearing its timer. */
export const delay: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal))
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortReason(signal as AbortSignal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/** A uniform number in [0, 1) from the web-standard CSPRNG: S1 wants every random from a CSPRNG, even jitter. */
export function secureRandom(): number {
  return (globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number) / 2 ** 32
}

/** `intervalMs` spread by ± `jitter` (a fraction), so many pollers do not fall into step. */
export function jittered(intervalMs: number, jitter: number, random: () => number = secureRandom): number {
  return Math.round(intervalMs * (1 + jitter * (2 * random() - 1)))
}

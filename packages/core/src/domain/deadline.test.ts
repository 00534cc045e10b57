import { describe, expect, it } from 'vitest'
import { underWay } from './deadline.js'

/** A promise settled from outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return { promise, resolve, reject }
}

/** Whether `promise` has settled once the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('underWay', () => {
  it('counts work until it settles, fulfilled or rejected, and hands the work back', async () => {
    const work = underWay()
    const a = deferred<string>()
    const b = deferred()
    expect(work.track(a.promise)).toBe(a.promise)
    work.track(b.promise).catch(() => {})
    expect(work.count).toBe(2)
    a.resolve('a')
    b.reject(new Error('b'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(work.count).toBe(0)
  })

  it('is idle at once when nothing is under way, and once the last work ends otherwise', async () => {
    const work = underWay()
    expect(await settled(work.idle())).toBe(true)
    const a = deferred()
    const b = deferred()
    work.track(a.promise)
    work.track(b.promise)
    const first = work.idle()
    const second = work.idle()
    a.resolve()
    expect(await settled(first)).toBe(false)
    b.resolve()
    expect(await settled(first)).toBe(true)
    expect(await settled(second)).toBe(true)
  })
})

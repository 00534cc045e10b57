import { describe, expect, it } from 'vitest'
import { ValidationError } from './domain/errors.js'
import { createEngine, type EngineOptions } from './engine.js'
import { TEST_SECRET } from './testing/engine-fixture.js'
import { captureNotifier, memoryStorage } from './testing/index.js'

// From plain JavaScript nothing stops a call without a storage or a notifier: each is named at once,
// with what to pass, instead of failing at its first use (a start answering `delivery: 'failed'`).
describe('createEngine names a missing part', () => {
  const options = (parts: Partial<EngineOptions>) =>
    ({
      storage: memoryStorage(),
      notifier: captureNotifier(),
      secret: TEST_SECRET,
      links: { baseUrl: 'https://auth.example.com' },
      ...parts,
    }) as EngineOptions

  it.each([
    ['storage', { storage: undefined }, 'sqliteStorage'],
    ['storage', { storage: {} }, 'sqliteStorage'],
    ['notifier', { notifier: undefined }, 'send(message)'],
    ['notifier', { notifier: { deliver() {} } }, 'send(message)'],
  ] as const)('%s from %j', (field, parts, told) => {
    let thrown: unknown
    try {
      createEngine(options(parts as Partial<EngineOptions>))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ValidationError)
    expect(thrown).toMatchObject({ field })
    expect((thrown as Error).message).toContain(told)
  })

  it('takes a storage and a notifier that have what it calls', () => {
    expect(() => createEngine(options({}))).not.toThrow()
  })
})

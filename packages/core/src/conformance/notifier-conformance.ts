import { describe, expect, it } from 'vitest'
import { DeliveryError } from '../domain/errors.js'
import type { Message, Notifier } from '../ports/notifier.js'

/** A notifier under test, and a way to read what reached its far end (a mailbox, an SMS gateway). */
export interface NotifierUnderTest {
  readonly notifier: Notifier
  /** Messages the far end received, in order: at least their destination and text. */
  received(): Promise<readonly { readonly to: string; readonly text: string; readonly subject?: string }[]>
  /** A notifier of the same kind whose far end refuses for good (a rejected address), when it can be made. */
  readonly refusing?: Notifier
  cleanup?(): Promise<void>
}

export interface NotifierConformanceOptions {
  readonly name: string
  /** The channels this notifier delivers. */
  readonly channels: readonly Message['channel'][]
  open(): Promise<NotifierUnderTest>
}

const sample = (channel: Message['channel'], kind: Message['kind']): Message => ({
  channel,
  to: channel === 'email' ? 'alice@example.com' : '+14155552671',
  kind,
  locale: 'en',
  idempotencyKey: `conformance-${channel}-${kind}`,
  ...(channel === 'email' ? { subject: 'Sign in to payroll' } : {}),
  text:
    kind === 'pin'
      ? '04817263 is your payroll code. Never share it.'
      : 'Sign in to payroll: https://auth.example.com/v1/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
})

/**
 * The contract every Notifier must keep, as a vitest suite: it delivers the text unchanged to the
 * destination, resolves with a provider id (or null), and fails with a typed DeliveryError.
 */
export function runNotifierConformance(options: NotifierConformanceOptions): void {
  describe(`Notifier conformance: ${options.name}`, () => {
    for (const channel of options.channels)
      for (const kind of ['pin', 'link'] as const)
        it(`delivers a ${kind} message by ${channel} with its text intact`, async () => {
          const under = await options.open()
          try {
            const message = sample(channel, kind)
            const sent = await under.notifier.send(message)
            expect(sent.providerId === null || typeof sent.providerId === 'string').toBe(true)
            const received = await under.received()
            expect(received).toHaveLength(1)
            expect(received[0]?.to).toBe(message.to)
            expect(received[0]?.text).toContain(
              kind === 'pin' ? '04817263' : '/v1/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
            )
          } finally {
            await under.cleanup?.()
          }
        })

    it('fails a refused delivery with a permanent DeliveryError', async (ctx) => {
      const under = await options.open()
      try {
        if (!under.refusing) return ctx.skip('this notifier cannot be made to refuse')
        const failure = await under.refusing
          .send(sample(options.channels[0] ?? 'email', 'pin'))
          .catch((e: unknown) => e)
        expect(failure).toBeInstanceOf(DeliveryError)
        expect((failure as DeliveryError).kind).toBe('permanent')
      } finally {
        await under.cleanup?.()
      }
    })
  })
}

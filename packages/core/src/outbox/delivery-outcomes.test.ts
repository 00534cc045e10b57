import { afterEach, describe, expect, it, vi } from 'vitest'
import { DeliveryError } from '../domain/errors.js'
import type { Notifier } from '../ports/notifier.js'
import { type EngineFixture, engineFixture } from '../testing/engine-fixture.js'

// A delivery's outcome is written behind the send, many per transaction, not as a
// transaction of its own on the login path.

let f: EngineFixture
afterEach(async () => {
  await f.close()
})

/** A promise and the function that settles it. */
function gate() {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

const login = { system: 'payroll', authid: 'alice' }

/** The fixture, with alice assigned to payroll's passwordless login. */
async function fixture(options: Parameters<typeof engineFixture>[0] = {}) {
  const made = await engineFixture(options)
  await made.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  return made
}

describe('delivery outcomes, off the login path', () => {
  it('answers start once the notifier has, before the outcome is written; check already knows it', async () => {
    f = await fixture()
    const held = gate()
    const reached = gate()
    const finishDeliveries = f.storage.outbox.finishDeliveries?.bind(f.storage)
    if (!finishDeliveries) throw new Error('the in-memory storage batches outcomes')
    // Every outcome write waits until the test opens the gate.
    f.storage.outbox.finishDeliveries = async (batch) => {
      reached.open()
      await held.opened
      return finishDeliveries(batch)
    }
    const finishDelivery = vi.spyOn(f.storage.outbox, 'finishDelivery')
    const events: string[] = []
    f.engine.events.on('challenge.delivery', (event) => events.push(event.status))

    const answered = f.acme.start(login).then((answer) => ({ answer }))
    const first = await Promise.race([
      answered,
      new Promise<'start waited for the write'>((resolve) =>
        setTimeout(resolve, 3000, 'start waited for the write'),
      ),
    ])
    expect(first).toMatchObject({ answer: { result: 'success', delivery: 'sent' } })
    await reached.opened
    // Not written yet: the row still says queued, and no event went out.
    expect(f.rows('deliveries').map((row) => row.status)).toEqual(['queued'])
    expect(events).toEqual([])
    // This process knows how the send went, and says so.
    expect(await f.acme.check(login)).toMatchObject({ result: 'pending', delivery: 'sent' })

    held.open()
    await f.engine.deliverDue()
    expect(f.rows('deliveries').map((row) => [row.status, row.payload])).toEqual([['sent', null]])
    expect(events).toEqual(['sent'])
    expect(finishDelivery).not.toHaveBeenCalled()
    const { events: audit } = await f.acme.audit.list({ type: 'delivery' })
    expect(audit.map((event) => event.outcome)).toEqual(['queued', 'sent'])
  })

  it('writes the outcomes of sends that finish together in one transaction', async () => {
    const sends = gate()
    let waiting = 0
    const allSending = gate()
    const notifier: Notifier = {
      async send() {
        waiting += 1
        if (waiting === 20) allSending.open()
        await sends.opened
        return { providerId: null }
      },
    }
    f = await fixture({ notifier })
    for (let i = 0; i < 20; i++) {
      await f.acme.users.create({ authid: `u${i}`, email: `u${i}@example.com` })
      await f.acme.users.assign(`u${i}`, [{ system: 'payroll', method: 'passwordless' }])
    }
    const batches: number[] = []
    const finishDeliveries = f.storage.outbox.finishDeliveries?.bind(f.storage)
    if (!finishDeliveries) throw new Error('the in-memory storage batches outcomes')
    f.storage.outbox.finishDeliveries = (batch) => {
      batches.push(batch.length)
      return finishDeliveries(batch)
    }
    const finishDelivery = vi.spyOn(f.storage.outbox, 'finishDelivery')

    const starts = Array.from({ length: 20 }, (_, i) => f.acme.start({ system: 'payroll', authid: `u${i}` }))
    await allSending.opened
    sends.open()
    expect((await Promise.all(starts)).map((answer) => answer.result)).toEqual(Array(20).fill('success'))
    await f.engine.deliverDue()

    expect(finishDelivery).not.toHaveBeenCalled()
    expect(batches.reduce((sum, n) => sum + n, 0)).toBe(20)
    // The first outcome may go alone; the others arrive while it is written and share the next one.
    expect(batches.length).toBeLessThanOrEqual(2)
    expect(f.rows('deliveries').every((row) => row.status === 'sent')).toBe(true)
    const verified = await f.acme.audit.verify()
    expect(verified).toMatchObject({ ok: true })
  })

  it('writes each outcome of a batch that failed on its own, so one bad row costs only itself', async () => {
    f = await fixture()
    for (const authid of ['bob', 'carol']) {
      await f.acme.users.create({ authid, email: `${authid}@example.com` })
      await f.acme.users.assign(authid, [{ system: 'payroll', method: 'passwordless' }])
    }
    const finishDeliveries = f.storage.outbox.finishDeliveries?.bind(f.storage)
    if (!finishDeliveries) throw new Error('the in-memory storage batches outcomes')
    const calls: number[] = []
    const held = gate()
    f.storage.outbox.finishDeliveries = async (batch) => {
      calls.push(batch.length)
      // The first write is held, so the next two outcomes queue behind it and form one batch.
      if (calls.length === 1) await held.opened
      if (batch.length > 1) throw new Error('disk I/O error')
      return finishDeliveries(batch)
    }
    await f.acme.start(login)
    await Promise.all(['bob', 'carol'].map((authid) => f.acme.start({ system: 'payroll', authid })))
    held.open()
    await f.engine.deliverDue()
    expect(calls).toEqual([1, 2, 1, 1])
    expect(f.rows('deliveries').map((row) => row.status)).toEqual(['sent', 'sent', 'sent'])
    expect(f.warnings).toEqual([])
  })

  it('writes what is still queued before the engine closes its storage', async () => {
    f = await fixture()
    const order: string[] = []
    const finishDeliveries = f.storage.outbox.finishDeliveries?.bind(f.storage)
    if (!finishDeliveries) throw new Error('the in-memory storage batches outcomes')
    const held = gate()
    f.storage.outbox.finishDeliveries = async (batch) => {
      await held.opened
      const moved = await finishDeliveries(batch)
      order.push('outcomes written')
      return moved
    }
    const close = f.storage.close.bind(f.storage)
    f.storage.close = async () => {
      order.push('storage closed')
      return close()
    }
    await f.acme.start(login)
    const closing = f.engine.close()
    held.open()
    await closing
    expect(order).toEqual(['outcomes written', 'storage closed'])
    // The fixture's own close must not close the engine twice.
    f = { ...f, close: async () => {} }
  })

  it('waits for a send still in flight, and writes its outcome, before the engine closes its storage', async () => {
    // In uniform mode start answers without waiting for the provider (S20), so a server that stopped
    // taking requests may close the engine while a send runs. Closing under it would leave the delivery
    // claimed, and the message would go again when the claim lapsed.
    const sent = gate()
    const slowNotifier: Notifier = {
      async send() {
        await sent.opened
        return { providerId: 'provider-1' }
      },
    }
    f = await fixture({ notifier: slowNotifier })
    await f.acme.settings.update({ uniformResponses: true })
    const order: string[] = []
    const close = f.storage.close.bind(f.storage)
    f.storage.close = async () => {
      order.push('storage closed')
      return close()
    }
    const answer = await f.acme.start(login)
    expect(answer).toMatchObject({ result: 'success', delivery: 'queued' })
    let closed = false
    const closing = f.engine.close().then(() => {
      closed = true
    })
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(closed).toBe(false)
    expect(order).toEqual([])
    sent.open()
    await closing
    expect(order).toEqual(['storage closed'])
    expect(f.rows('deliveries').map((row) => row.status)).toEqual(['sent'])
    f = { ...f, close: async () => {} }
  })

  it('does not wait past closeWaitMs for a provider that never answers, and says so', async () => {
    const hung: Notifier = { send: () => new Promise(() => {}) }
    f = await fixture({ notifier: hung, outbox: { closeWaitMs: 0 } })
    await f.acme.settings.update({ uniformResponses: true })
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', delivery: 'queued' })
    await f.engine.close()
    expect(f.warnings).toContain('closing with sends still under way; each goes again once its claim lapses')
    // Still claimed: the next dispatcher sends it once the claim lapses (outbox.test.ts).
    expect(f.rows('deliveries').map((row) => row.status)).toEqual(['queued'])
    f = { ...f, close: async () => {} }
  })

  it('does not hold a close on a background retry whose provider never answers', async () => {
    let calls = 0
    const retrying = gate()
    const notifier: Notifier = {
      async send() {
        calls += 1
        if (calls === 1) throw new DeliveryError('temporary', '451 4.3.0 try again later')
        retrying.open()
        return new Promise(() => {}) // the retry's provider never answers
      },
    }
    f = await fixture({
      notifier,
      outbox: { closeWaitMs: 0 },
      background: { outboxMs: 10, sweepMs: 1_000_000 },
    })
    expect(await f.acme.start(login)).toMatchObject({ delivery: 'failed' })
    f.clock.advance(60_000) // the retry is due; the background run picks it up
    await retrying.opened
    await f.engine.close()
    expect(f.warnings).toContain('closing with sends still under way; each goes again once its claim lapses')
    f = { ...f, close: async () => {} }
  })

  it('lets reads and deliverDue write queued outcomes without waiting for sends under way', async () => {
    const hung: Notifier = { send: () => new Promise(() => {}) }
    // A minute of grace at the close; none of it may be spent outside the close.
    f = await fixture({ notifier: hung, outbox: { closeWaitMs: 60_000 } })
    await f.acme.settings.update({ uniformResponses: true })
    await f.acme.start(login)
    await f.acme.audit.list({})
    expect(await f.engine.deliverDue()).toEqual({ cancelled: 0, delivered: 0 })
    expect(f.warnings).toEqual([])
    // The fixture's close would wait the minute for the hung send: this engine is left as a dead process.
    f = { ...f, close: async () => {} }
  })

  it('survives a host logger that throws while an outcome could not be written', async () => {
    const throwing = () => {
      throw new Error('the log sink is gone')
    }
    f = await fixture({ logger: { warn: throwing, error: throwing } })
    const failing = async () => {
      throw new Error('database is locked')
    }
    f.storage.outbox.finishDeliveries = failing
    f.storage.outbox.finishDelivery = failing
    expect(await f.acme.start(login)).toMatchObject({ result: 'success', delivery: 'sent' })
    // The write fails, its error is logged, the logger throws: the close still ends normally.
    await f.engine.close()
    f = { ...f, close: async () => {} }
  })
})

import { createHmac } from 'node:crypto'
import { DeliveryError, type Message } from '@flexsecure/core'
import { runNotifierConformance } from '@flexsecure/core/conformance'
import { afterEach, describe, expect, it } from 'vitest'
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  checkTwilioRequest,
  fakeGateway,
  type Gateway,
  type Reply,
  twilioCreated,
  twilioInvalidNumber,
  twilioTooManyRequests,
} from '../test/fake-gateways.js'
import { twilioNotifier } from './twilio-notifier.js'
import { webhookNotifier } from './webhook-notifier.js'

const sms = (fields: Partial<Message> = {}): Message => ({
  channel: 'sms',
  to: '+14155552671',
  text: '04817263 is your payroll code. Never share it.',
  kind: 'pin',
  locale: 'en',
  idempotencyKey: 'challenge-42',
  ...fields,
})

const twilioGateway = (reply: (form: URLSearchParams) => Reply) =>
  fakeGateway((request) => reply(new URLSearchParams(request.body)), checkTwilioRequest)
const twilio = (
  gateway: Gateway,
  from: Partial<{ from: string; messagingServiceSid: string }> = { from: '+15017122661' },
) => twilioNotifier({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: gateway.url, ...from })

runNotifierConformance({
  name: 'twilio',
  channels: ['sms'],
  open: async () => {
    const gateway = await twilioGateway((form) => ({
      status: 201,
      json: twilioCreated(
        form.get('To') as string,
        form.get('Body') as string,
        'SM0123456789abcdef0123456789abcdef',
      ),
    }))
    const refusing = await twilioGateway(() => ({ status: 400, json: twilioInvalidNumber }))
    return {
      notifier: twilio(gateway),
      refusing: twilio(refusing),
      received: async () =>
        gateway.received.map((r) => {
          const form = new URLSearchParams(r.body)
          return { to: form.get('To') as string, text: form.get('Body') as string }
        }),
      cleanup: async () => {
        await gateway.close()
        await refusing.close()
      },
    }
  },
})

describe('twilioNotifier', () => {
  const gateways: Gateway[] = []
  const open = async (reply: (form: URLSearchParams) => Reply) => {
    const gateway = await twilioGateway(reply)
    gateways.push(gateway)
    return gateway
  }
  afterEach(async () => {
    for (const gateway of gateways.splice(0)) {
      expect(gateway.violations).toEqual([])
      await gateway.close()
    }
  })

  it('posts To, From and Body with basic auth and answers Twilio’s message sid', async () => {
    const gateway = await open((form) => ({
      status: 201,
      json: twilioCreated(form.get('To') as string, form.get('Body') as string, 'SM42'),
    }))
    expect(await twilio(gateway).send(sms())).toEqual({ providerId: 'SM42' })
    expect(Object.fromEntries(new URLSearchParams(gateway.received[0]?.body))).toEqual({
      To: '+14155552671',
      Body: '04817263 is your payroll code. Never share it.',
      From: '+15017122661',
    })
  })

  it('sends through a Messaging Service instead of a From number when given one', async () => {
    const gateway = await open(() => ({ status: 201, json: twilioCreated('+14155552671', 'x', 'SM43') }))
    await twilio(gateway, { messagingServiceSid: 'MG0123' }).send(sms())
    const form = new URLSearchParams(gateway.received[0]?.body)
    expect([form.get('MessagingServiceSid'), form.get('From')]).toEqual(['MG0123', null])
  })

  it('fails error 21211 (invalid number) as permanent, naming the code', async () => {
    const gateway = await open(() => ({ status: 400, json: twilioInvalidNumber }))
    const failure = await twilio(gateway)
      .send(sms())
      .catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(DeliveryError)
    expect(failure).toMatchObject({ kind: 'permanent', message: expect.stringContaining('21211') })
  })

  it('fails error 20429 (too many requests) as temporary', async () => {
    const gateway = await open(() => ({ status: 429, json: twilioTooManyRequests }))
    expect(
      await twilio(gateway)
        .send(sms())
        .catch((e: unknown) => e),
    ).toMatchObject({
      kind: 'temporary',
      message: expect.stringContaining('20429'),
    })
  })

  it('fails a plain 5xx as temporary, and delivers on retry', async () => {
    let failures = 1
    const gateway = await open((form) =>
      failures-- > 0
        ? { status: 503, text: 'Service Unavailable' }
        : { status: 201, json: twilioCreated(form.get('To') as string, 'x', 'SM44') },
    )
    const notifier = twilio(gateway)
    expect(await notifier.send(sms()).catch((e: unknown) => e)).toMatchObject({ kind: 'temporary' })
    expect(await notifier.send(sms())).toEqual({ providerId: 'SM44' })
  })

  it('fails as temporary when Twilio cannot be reached', async () => {
    const gateway = await open(() => ({ status: 201, json: {} }))
    await gateway.close()
    gateways.pop()
    const failed = await twilio(gateway)
      .send(sms())
      .catch((e: unknown) => e)
    // What went wrong, by its system code, and never the address.
    expect(failed).toMatchObject({ kind: 'temporary', message: 'Twilio unreachable: ECONNREFUSED' })
  })

  it('refuses an email as permanent', async () => {
    const gateway = await open(() => ({ status: 201, json: {} }))
    expect(
      await twilio(gateway)
        .send(sms({ channel: 'email', to: 'a@example.com' }))
        .catch((e: unknown) => e),
    ).toMatchObject({
      kind: 'permanent',
    })
    expect(gateway.received).toEqual([])
  })
})

describe('webhookNotifier', () => {
  const gateways: Gateway[] = []
  afterEach(async () => {
    for (const gateway of gateways.splice(0)) await gateway.close()
  })
  const open = async (reply: () => Reply) => {
    const gateway = await fakeGateway(reply, (r) =>
      r.method === 'POST' && r.headers['content-type'] === 'application/json' ? null : 'shape',
    )
    gateways.push(gateway)
    return gateway
  }

  it('posts the rendered template with an idempotency key and a verifiable HMAC signature', async () => {
    const gateway = await open(() => ({ status: 200, json: { messageId: 'm-1' } }))
    const notifier = webhookNotifier({
      url: `${gateway.url}/send`,
      headers: { 'x-api-key': 'k' },
      body: { recipient: '{{to}}', message: { text: '{{text}}', ref: 'fs-{{id}}' }, tags: ['{{kind}}'] },
      signingSecret: 'hook-secret',
      idField: 'messageId',
      now: () => 1_767_258_000_000,
    })
    const quoted = sms({ text: 'Say "hi"\n04817263 {{to}}' })
    expect(await notifier.send(quoted)).toEqual({ providerId: 'm-1' })
    const [request] = gateway.received
    expect(JSON.parse(request?.body ?? '')).toEqual({
      recipient: '+14155552671',
      message: { text: 'Say "hi"\n04817263 {{to}}', ref: 'fs-challenge-42' },
      tags: ['pin'],
    })
    expect(request?.headers['idempotency-key']).toBe('challenge-42')
    expect(request?.headers['x-api-key']).toBe('k')
    const expected = createHmac('sha256', 'hook-secret').update(`1767258000.${request?.body}`).digest('hex')
    expect(request?.headers['x-flexsecure-signature']).toBe(`t=1767258000,v1=${expected}`)
  })

  it.each([
    [500, 'temporary'],
    [429, 'temporary'],
    [408, 'temporary'],
    [400, 'permanent'],
    [401, 'permanent'],
  ] as const)('treats a %i as %s', async (status, kind) => {
    const gateway = await open(() => ({ status, text: 'no' }))
    expect(
      await webhookNotifier({ url: gateway.url })
        .send(sms())
        .catch((e: unknown) => e),
    ).toMatchObject({ kind })
  })
})

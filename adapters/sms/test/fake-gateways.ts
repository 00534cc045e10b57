// HTTP servers on loopback that check each request exactly as the provider documents it and answer
// with the provider's own bodies.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export const ACCOUNT_SID = `AC${'0'.repeat(32)}`
export const AUTH_TOKEN = 'test-auth-token'

/**
 * Twilio's answer to a created message, trimmed (fields as in Twilio's Message resource reference,
 * https://www.twilio.com/docs/messaging/api/message-resource).
 */
export const twilioCreated = (to: string, body: string, sid: string) => ({
  sid,
  account_sid: ACCOUNT_SID,
  to,
  from: '+15017122661',
  body,
  status: 'queued',
  num_segments: '1',
  direction: 'outbound-api',
  api_version: '2010-04-01',
  error_code: null,
  error_message: null,
  uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}.json`,
})

/** Twilio's error body for an invalid To number (https://www.twilio.com/docs/errors/21211). */
export const twilioInvalidNumber = {
  code: 21211,
  message: "The 'To' number +15005550001 is not a valid phone number.",
  more_info: 'https://www.twilio.com/docs/errors/21211',
  status: 400,
}

/** Twilio's error body for too many requests; never processed, safe to retry (https://www.twilio.com/docs/errors/20429). */
export const twilioTooManyRequests = {
  code: 20429,
  message: 'Too Many Requests',
  more_info: 'https://www.twilio.com/docs/errors/20429',
  status: 429,
}

export interface Reply {
  readonly status: number
  readonly json?: unknown
  readonly text?: string
}

export interface Gateway {
  readonly url: string
  readonly received: {
    readonly headers: IncomingMessage['headers']
    readonly path: string
    readonly body: string
  }[]
  /** Requests the gateway refused as malformed (wrong path, auth, content type or fields). */
  readonly violations: string[]
  close(): Promise<void>
}

/** A gateway that validates with `check` (returning a violation, or null) and answers with `reply`. */
export async function fakeGateway(
  reply: (request: { path: string; body: string; headers: IncomingMessage['headers'] }) => Reply,
  check: (request: {
    path: string
    body: string
    headers: IncomingMessage['headers']
    method: string
  }) => string | null,
): Promise<Gateway> {
  const received: Gateway['received'] = []
  const violations: string[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      const seen = {
        path: request.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        headers: request.headers,
      }
      const violation = check({ ...seen, method: request.method ?? '' })
      if (violation) {
        violations.push(violation)
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ violation }))
        return
      }
      received.push(seen)
      const answer = reply(seen)
      if (answer.json !== undefined)
        response
          .writeHead(answer.status, { 'content-type': 'application/json' })
          .end(JSON.stringify(answer.json))
      else response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.text ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    violations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** Twilio's create-message contract: POST, form-encoded, basic auth, To plus From or MessagingServiceSid, Body. */
export function checkTwilioRequest(request: {
  path: string
  body: string
  headers: IncomingMessage['headers']
  method: string
}): string | null {
  if (request.method !== 'POST') return `method ${request.method}`
  if (request.path !== `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`) return `path ${request.path}`
  const expected = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`
  if (request.headers.authorization !== expected) return 'authorization'
  if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
    return 'content-type'
  const form = new URLSearchParams(request.body)
  if (!/^\+[1-9]\d{6,14}$/.test(form.get('To') ?? '')) return 'To'
  if (!form.get('Body')) return 'Body'
  if (!form.get('From') === !form.get('MessagingServiceSid'))
    return 'From or MessagingServiceSid, exactly one'
  return null
}

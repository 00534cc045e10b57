import { z } from 'zod'
import { INSIGHT_OPERATIONS } from './insight-routes.js'
import {
  AssignBody,
  CheckBody,
  KeyCreate,
  PinAfterLogin,
  PinSet,
  RedeemBody,
  SettingsUpdate,
  SimulateBody,
  StartBody,
  SystemCreate,
  SystemUpdate,
  UserCreate,
  UserUpdate,
} from './schemas.js'

// The OpenAPI 3.1 document, generated from the very schemas that validate requests.

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input' })
const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } })
const answer = (description: string, result: string, extra: Record<string, unknown> = {}) => ({
  description,
  content: {
    'application/json': {
      schema: { type: 'object', required: ['result'], properties: { result: { const: result }, ...extra } },
    },
  },
})
const securityError = answer('refused, with a machine-readable reason', 'security error', {
  reason: { type: 'string' },
})
const badRequest = answer(
  'malformed request (400), body too large (413) or wrong content type (415)',
  'bad request',
  {
    error: { type: 'string' },
    field: { type: 'string' },
  },
)
const rateLimited = answer(
  'throttled (a key’s or account’s budget of calls, polls of one login, a send limit, a delay after failures); see the Retry-After header',
  'rate limited',
  { retryAfter: { type: 'string', format: 'date-time' } },
)
/** What a started login answers; with `uniformResponses` a refused start answers the same with decoy values (S20). */
const started = {
  ...answer(
    'sent; with the account setting uniformResponses, a refused start answers the same shape with a decoy challengeId (and matchCode), which check answers like a pending login until it expires',
    'success',
    {
      challengeId: { type: 'string' },
      expiresAt: { type: 'string', format: 'date-time' },
      method: { enum: ['passwordless', 'pin'] },
      channel: { enum: ['email', 'sms'] },
      delivery: { enum: ['queued', 'sent', 'failed'] },
      layers: { type: 'array', items: { enum: ['passwordless', 'pin', 'memorized_pin'] } },
      matchCode: { type: 'string', pattern: '^\\d{3}$' },
    },
  ),
}
const adminOp = (summary: string, requestBody?: z.ZodType) => ({
  summary,
  security: [{ apikey: [] }],
  ...(requestBody ? { requestBody: body(requestBody) } : {}),
  responses: {
    '200': { description: 'done' },
    '400': badRequest,
    '403': securityError,
    '404': { description: 'not found' },
  },
})

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'FlexSecure API',
      version: '1.0.0',
      description: 'Passwordless authentication: start a login, then poll check.',
    },
    components: { securitySchemes: { apikey: { type: 'apiKey', in: 'header', name: 'apikey' } } },
    security: [{ apikey: [] }],
    paths: {
      '/v1/start': {
        post: {
          summary: 'Start a login: send a magic link or a one-time PIN',
          requestBody: body(StartBody),
          responses: {
            '200': started,
            '400': badRequest,
            '403': securityError,
            '429': rateLimited,
          },
        },
      },
      '/v1/check': {
        post: {
          summary: 'Poll a login (every 2 s), or submit its PIN',
          requestBody: body(CheckBody),
          responses: {
            '200': answer('authenticated; answered once per challenge', 'authenticated'),
            '202': answer('still waiting', 'pending', {
              channel: {
                type: 'string',
                enum: ['email', 'sms'],
                description: 'the channel carrying the secret now (the fallback’s after one)',
              },
            }),
            '403': { description: '`expired`, or `security error` with a reason' },
            '400': badRequest,
            '429': rateLimited,
          },
        },
      },
      '/v1/redeem': {
        post: {
          summary:
            'Same device: spend the completion code the return URL received (once, within 60 s) for the login’s identity',
          requestBody: body(RedeemBody),
          responses: {
            '200': answer('the login this code completes', 'authenticated', {
              system: { type: 'string' },
              authid: { type: 'string' },
              challengeId: { type: 'string' },
            }),
            '400': badRequest,
            '403': securityError,
          },
        },
      },
      '/v1/links/{token}': {
        get: {
          summary: 'The confirm page of a magic link; changes nothing',
          security: [],
          responses: { '200': { description: 'HTML' } },
        },
        post: {
          summary: 'Consume the link once (from its confirm page)',
          security: [],
          responses: {
            '200': { description: 'HTML' },
            '303': { description: 'same device: to the login’s return URL with `?code=` for /v1/redeem' },
          },
        },
      },
      '/v1/admin/systems': { get: adminOp('List systems'), post: adminOp('Create a system', SystemCreate) },
      '/v1/admin/systems/{name}': {
        get: adminOp('Get a system'),
        patch: adminOp('Update a system’s policies, sensitivity, rules and messages', SystemUpdate),
      },
      '/v1/admin/policy/simulate': {
        post: adminOp(
          'The decision a start would take, with the rules that matched; changes nothing',
          SimulateBody,
        ),
      },
      '/v1/admin/users/{authid}/pin': {
        put: adminOp('Set or clear (null) the user’s memorized PIN (S10)', PinSet),
      },
      '/v1/pin': {
        post: {
          summary: 'The user sets their memorized PIN within 5 minutes of an authenticated login',
          requestBody: body(PinAfterLogin),
          responses: { '204': { description: 'set' }, '400': badRequest },
        },
      },
      '/v1/admin/users': {
        get: adminOp('List users (after, limit)'),
        post: adminOp('Create a user', UserCreate),
      },
      '/v1/admin/users/{authid}': {
        get: adminOp('Get a user'),
        patch: adminOp('Update a user', UserUpdate),
        delete: adminOp('Remove a user, their assignments and challenges'),
      },
      '/v1/admin/users/{authid}/assignments': {
        get: adminOp('A user’s assignments'),
        post: adminOp('Assign several systems at once', AssignBody),
      },
      '/v1/admin/users/{authid}/unlock': { post: adminOp('Unlock a locked user') },
      '/v1/admin/keys': {
        get: adminOp('List API keys'),
        post: adminOp('Create an API key (shown once)', KeyCreate),
      },
      '/v1/admin/keys/{id}': { delete: adminOp('Revoke an API key') },
      '/v1/admin/settings': {
        get: adminOp('Account settings'),
        patch: {
          ...adminOp('Update account settings', SettingsUpdate),
          responses: {
            ...adminOp('Update account settings').responses,
            '400': answer(
              "malformed settings, or a value looser than the operator allows (S18, S34): `field` names the setting (`settings.sendLimits.perUserPerHour`) and `error` the ceiling (`must be at most 20: the operator's ceiling (ceilings.sendLimits.perUserPerHour)`); nothing is changed",
              'bad request',
              { error: { type: 'string' }, field: { type: 'string' } },
            ),
          },
        },
      },
      '/v1/admin/audit': {
        get: adminOp(
          'Audit events (since, until, system, authid, type, outcome, after, limit, format=json|jsonl|csv)',
        ),
      },
      '/v1/admin/audit/verify': { get: adminOp('Verify the audit chain') },
      ...Object.fromEntries(
        INSIGHT_OPERATIONS.map((op) => [op.path, { [op.method]: adminOp(op.summary, op.body) }]),
      ),
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'ok' } } } },
      '/metrics': {
        get: { summary: 'Prometheus counters', security: [], responses: { '200': { description: 'text' } } },
      },
    },
  }
}

import type { z } from 'zod'
import * as admin from './admin-answers.js'
import * as insight from './insight-answers.js'
import * as login from './login-answers.js'
import * as request from './requests.js'

// Every route the server serves, once: the OpenAPI document is generated from this table, a test holds
// it equal to the Hono app's routes, and the client's types come from the shapes it names.

/** Who may call a route: nobody in particular, an `auth` or `admin` key, or the operator's key. */
export type Access = 'public' | 'auth' | 'admin' | 'operator' | 'admin or operator'

/** One route: its answers by status, each a named shape or, for what is not JSON, a description. */
export interface Route {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** The path as OpenAPI writes it (`/v1/admin/users/{authid}`). */
  readonly path: string
  readonly access: Access
  readonly summary: string
  readonly body?: z.ZodType
  /** Query parameters and what each means. */
  readonly query?: Readonly<Record<string, string>>
  readonly answers: Readonly<Record<number, z.ZodType | string>>
}

const refused = { 400: login.BadRequest, 403: login.SecurityError } as const
const missing = { 404: login.NotFound } as const
const AUDIT_FILTERS = {
  since: 'ISO 8601: events at or after',
  until: 'ISO 8601: events before',
  system: 'one system’s events',
  authid: 'one user’s events',
  type: 'one event type',
  outcome: 'one outcome',
}

/** The table. Add a route here beside its handler; the route test fails until both agree. */
export const ROUTES = [
  // The login API, for an `auth` key.
  {
    method: 'post',
    path: '/v1/start',
    access: 'auth',
    summary: 'Start a login: send a magic link or a one-time PIN',
    body: request.StartRequest,
    answers: { 200: login.Started, ...refused, 429: login.RateLimited },
  },
  {
    method: 'post',
    path: '/v1/check',
    access: 'auth',
    summary: 'Poll a login (every 2 s), or submit its PIN',
    body: request.CheckRequest,
    answers: {
      200: login.Authenticated,
      202: login.Pending,
      400: login.BadRequest,
      403: login.CheckRefused,
      429: login.RateLimited,
    },
  },
  {
    method: 'post',
    path: '/v1/redeem',
    access: 'auth',
    summary: 'Same device: spend the completion code the return URL received (once, within 60 s)',
    body: request.RedeemRequest,
    answers: { 200: login.Redeemed, ...refused },
  },
  {
    method: 'post',
    path: '/v1/pin',
    access: 'admin',
    summary: 'The user sets their memorized PIN within 5 minutes of an authenticated login',
    body: request.PinAfterLoginRequest,
    answers: { 204: 'set', ...refused },
  },
  // The link pages, for the user's browser.
  {
    method: 'get',
    path: '/v1/links/{token}',
    access: 'public',
    summary: 'The confirm page of a magic link; changes nothing',
    answers: { 200: 'HTML' },
  },
  {
    method: 'post',
    path: '/v1/links/{token}',
    access: 'public',
    summary: 'Consume the link once (from its confirm page, a form with `form` and maybe `code`)',
    answers: {
      200: 'HTML',
      303: 'same device: to the login’s return URL with `?code=` for /v1/redeem',
      400: 'HTML: a wrong code, asked again',
    },
  },
  // Systems.
  {
    method: 'get',
    path: '/v1/admin/systems',
    access: 'admin',
    summary: 'List systems',
    answers: { 200: admin.SystemList, ...refused },
  },
  {
    method: 'post',
    path: '/v1/admin/systems',
    access: 'admin',
    summary: 'Create a system',
    body: request.SystemCreateRequest,
    answers: { 201: admin.System, ...refused, 409: login.Conflict },
  },
  {
    method: 'get',
    path: '/v1/admin/systems/{name}',
    access: 'admin',
    summary: 'Get a system',
    answers: { 200: admin.System, ...refused, ...missing },
  },
  {
    method: 'patch',
    path: '/v1/admin/systems/{name}',
    access: 'admin',
    summary: 'Update a system’s policies, sensitivity, rules, return URL and messages',
    body: request.SystemUpdateRequest,
    answers: { 200: admin.System, ...refused, ...missing },
  },
  {
    method: 'post',
    path: '/v1/admin/policy/simulate',
    access: 'admin',
    summary: 'The decision a start would take, with the rules that matched; changes nothing',
    body: request.StartRequest,
    answers: { 200: admin.Simulation, ...refused },
  },
  // Users and assignments.
  {
    method: 'get',
    path: '/v1/admin/users',
    access: 'admin',
    summary: 'List users by authid',
    query: { after: 'the previous page’s `next`', limit: '1 to 1000' },
    answers: { 200: admin.UserPage, ...refused },
  },
  {
    method: 'post',
    path: '/v1/admin/users',
    access: 'admin',
    summary: 'Create a user',
    body: request.UserCreateRequest,
    answers: { 201: admin.User, ...refused, 409: login.Conflict },
  },
  {
    method: 'get',
    path: '/v1/admin/users/{authid}',
    access: 'admin',
    summary: 'Get a user',
    answers: { 200: admin.User, ...refused, ...missing },
  },
  {
    method: 'patch',
    path: '/v1/admin/users/{authid}',
    access: 'admin',
    summary: 'Update a user',
    body: request.UserUpdateRequest,
    answers: { 200: admin.User, ...refused, ...missing },
  },
  {
    method: 'delete',
    path: '/v1/admin/users/{authid}',
    access: 'admin',
    summary: 'Remove a user, their assignments and challenges',
    answers: { 204: 'removed', ...refused, ...missing },
  },
  {
    method: 'get',
    path: '/v1/admin/users/{authid}/assignments',
    access: 'admin',
    summary: 'A user’s assignments',
    answers: { 200: admin.AssignmentList, ...refused, ...missing },
  },
  {
    method: 'post',
    path: '/v1/admin/users/{authid}/assignments',
    access: 'admin',
    summary: 'Assign several systems at once; all or none',
    body: request.AssignRequest,
    answers: { 200: admin.AssignmentList, ...refused, ...missing },
  },
  {
    method: 'post',
    path: '/v1/admin/users/{authid}/unlock',
    access: 'admin',
    summary: 'Unlock a locked user and clear the failure streak',
    answers: { 200: admin.Unlocked, ...refused, ...missing },
  },
  {
    method: 'put',
    path: '/v1/admin/users/{authid}/pin',
    access: 'admin',
    summary: 'Set or clear (null) the user’s memorized PIN (S10)',
    body: request.PinSetRequest,
    answers: { 204: 'set', ...refused, ...missing },
  },
  // API keys and settings.
  {
    method: 'get',
    path: '/v1/admin/keys',
    access: 'admin',
    summary: 'List API keys',
    answers: { 200: admin.ApiKeyList, ...refused },
  },
  {
    method: 'post',
    path: '/v1/admin/keys',
    access: 'admin',
    summary: 'Create an API key (shown once)',
    body: request.KeyCreateRequest,
    answers: { 201: admin.CreatedApiKey, ...refused },
  },
  {
    method: 'delete',
    path: '/v1/admin/keys/{id}',
    access: 'admin',
    summary: 'Revoke an API key at once',
    answers: { 204: 'revoked', ...refused, ...missing },
  },
  {
    method: 'get',
    path: '/v1/admin/settings',
    access: 'admin',
    summary: 'Account settings',
    answers: { 200: admin.AccountSettings, ...refused },
  },
  {
    method: 'patch',
    path: '/v1/admin/settings',
    access: 'admin',
    summary: 'Update account settings; the answer is the settings after the change',
    body: request.SettingsUpdateRequest,
    answers: { 200: admin.AccountSettings, ...refused, 400: login.SettingsRefused },
  },
  // The audit.
  {
    method: 'get',
    path: '/v1/admin/audit',
    access: 'admin',
    summary: 'Audit events by sequence number; `format=jsonl` or `csv` streams every match as a file',
    query: {
      ...AUDIT_FILTERS,
      after: 'the previous page’s `next`',
      limit: '1 to 1000',
      format: 'json, jsonl or csv',
    },
    answers: { 200: admin.AuditPage, ...refused },
  },
  {
    method: 'get',
    path: '/v1/admin/audit/verify',
    access: 'admin',
    summary: 'Verify the audit chain',
    answers: { 200: admin.AuditVerdict, ...refused },
  },
  {
    method: 'get',
    path: '/v1/admin/audit/search',
    access: 'admin',
    summary: 'Audit events newest first within a bounded window',
    query: {
      ...AUDIT_FILTERS,
      before: 'the previous page’s `next`',
      limit: '1 to 1000',
      scan: 'events to read at most, 1 to 200000',
    },
    answers: { 200: insight.AuditSearchPage, ...refused },
  },
  // The administrators' screens.
  {
    method: 'get',
    path: '/v1/admin/user-search',
    access: 'admin',
    summary: 'Users whose authid, displayName, email or phone starts with `query`',
    query: {
      query: 'the start to match',
      by: 'authid, displayName, email or phone',
      status: 'active, disabled or locked',
      after: 'the previous page’s `next`',
      limit: '1 to 1000',
    },
    answers: { 200: insight.UserSearchPage, ...refused },
  },
  {
    method: 'get',
    path: '/v1/admin/deliveries',
    access: 'admin',
    summary: 'The outbox: waiting (queued or failed, due for a retry) or abandoned deliveries',
    query: { queue: 'waiting or abandoned', after: 'the previous page’s `next`', limit: '1 to 1000' },
    answers: { 200: insight.DeliveryPage, ...refused },
  },
  {
    method: 'post',
    path: '/v1/admin/deliveries/{id}/requeue',
    access: 'admin',
    summary:
      'Send a waiting delivery at the next outbox run (409 when it is not waiting, is in flight or expired)',
    answers: { 200: insight.Requeued, ...refused, 409: login.Conflict },
  },
  {
    method: 'get',
    path: '/v1/admin/stats/logins',
    access: 'admin',
    summary: 'Logins per hour or day, succeeded and failed',
    query: { bucket: 'hour or day', until: 'ISO 8601', count: 'buckets, 1 to 744', system: 'one system' },
    answers: { 200: insight.LoginStats, ...refused },
  },
  {
    method: 'get',
    path: '/v1/admin/stats/overview',
    access: 'admin',
    summary: 'Pending challenges, deliveries in trouble, locked users, the last audit verification',
    answers: { 200: insight.Overview, ...refused },
  },
  {
    method: 'post',
    path: '/v1/admin/messages/preview',
    access: 'admin',
    summary: 'A message as a user would get it, with a sample link or PIN',
    body: request.PreviewRequest,
    answers: { 200: insight.MessagePreview, ...refused, ...missing },
  },
  {
    method: 'put',
    path: '/v1/admin/console/administrators/{authid}',
    access: 'admin',
    summary: 'Give a user a console role (admin, viewer), or take it away (null)',
    body: request.ConsoleGrantRequest,
    answers: { 200: insight.ConsoleGrant, ...refused, ...missing },
  },
  // The operator, and the probes.
  {
    method: 'get',
    path: '/v1/operator/accounts',
    access: 'operator',
    summary: 'List accounts',
    answers: { 200: insight.AccountList, 403: login.SecurityError },
  },
  {
    method: 'post',
    path: '/v1/operator/accounts',
    access: 'operator',
    summary: 'Create an account with its first admin key (shown once)',
    body: request.AccountCreateRequest,
    answers: { 201: insight.CreatedAccount, ...refused },
  },
  {
    method: 'get',
    path: '/v1/operator/accounts/{id}',
    access: 'operator',
    summary: 'Get an account',
    answers: { 200: insight.Account, 403: login.SecurityError, ...missing },
  },
  {
    method: 'get',
    path: '/healthz',
    access: 'public',
    summary: 'Liveness',
    answers: { 200: login.Health },
  },
  {
    method: 'get',
    path: '/readyz',
    access: 'public',
    summary: 'Readiness: the database answers and no migration is pending',
    answers: { 200: login.Readiness, 503: login.Readiness },
  },
  {
    method: 'get',
    path: '/metrics',
    access: 'admin or operator',
    summary: 'Prometheus counters: an operator key sees every account, an admin key its own',
    answers: { 200: 'text/plain; version=0.0.4', 403: login.SecurityError },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    access: 'public',
    summary: 'This document',
    answers: { 200: 'the OpenAPI 3.1 document' },
  },
] as const satisfies readonly Route[]

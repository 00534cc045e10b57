import { type Outgoing, type Reply, segment, type Transport, unexpectedReply } from './transport.js'
import type {
  ApiKeyInfo,
  ApiKeyInput,
  Assignment,
  AssignmentInput,
  AuditFilters,
  AuditPage,
  CallOptions,
  CreatedApiKey,
  PoliciesInput,
  System,
  SystemInput,
  User,
  UserChanges,
  UserInput,
  UserPage,
} from './types.js'

/** The admin routes (`/v1/admin/…`), for a key with the `admin` scope; failures throw `FlexSecureHttpError`. */
export interface AdminClient {
  readonly systems: {
    list(options?: CallOptions): Promise<System[]>
    create(input: SystemInput, options?: CallOptions): Promise<System>
    /** The system, or null when there is none by that name. */
    get(name: string, options?: CallOptions): Promise<System | null>
    /** Merges `changes.policies` over the current ones. */
    update(
      name: string,
      changes: { readonly policies: PoliciesInput },
      options?: CallOptions,
    ): Promise<System>
  }
  readonly users: {
    /** Users by authid; pass the returned `next` as `after` for the following page. */
    list(
      page?: { readonly after?: string; readonly limit?: number },
      options?: CallOptions,
    ): Promise<UserPage>
    create(input: UserInput, options?: CallOptions): Promise<User>
    /** The user, or null when there is none by that authid. */
    get(authid: string, options?: CallOptions): Promise<User | null>
    update(authid: string, changes: UserChanges, options?: CallOptions): Promise<User>
    /** Deletes the user, their contact points, assignments and challenges. */
    remove(authid: string, options?: CallOptions): Promise<void>
    /** Grants several systems at once; all or none. */
    assign(
      authid: string,
      assignments: readonly AssignmentInput[],
      options?: CallOptions,
    ): Promise<Assignment[]>
    assignments(authid: string, options?: CallOptions): Promise<Assignment[]>
    /** Lifts a lock and clears the failure streak. */
    unlock(authid: string, options?: CallOptions): Promise<{ wasLocked: boolean }>
  }
  readonly keys: {
    list(options?: CallOptions): Promise<ApiKeyInfo[]>
    /** Creates a key; the answer carries `key`, the only time it is shown. */
    create(input: ApiKeyInput, options?: CallOptions): Promise<CreatedApiKey>
    /** Revokes at once; false when the server knows no such key. */
    revoke(id: string, options?: CallOptions): Promise<boolean>
  }
  readonly audit: {
    /** Events by ascending sequence number; pass `next` as `after` for the following page. */
    list(filters?: AuditFilters, options?: CallOptions): Promise<AuditPage>
  }
}

const ok = (reply: Reply) => reply.status >= 200 && reply.status < 300
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const isNotFound = (reply: Reply) =>
  reply.status === 404 && isObject(reply.body) && reply.body.result === 'not found'
const iso = (value: Date | string | undefined) => (value instanceof Date ? value.toISOString() : value)

/** The admin surface over a transport. */
export function adminClient(transport: Transport): AdminClient {
  const describe = (request: Outgoing) => `${request.method} ${request.path}`

  /** A 2xx body that is an object. */
  async function call<T>(request: Outgoing): Promise<T> {
    const reply = await transport(request)
    if (ok(reply) && isObject(reply.body)) return reply.body as T
    throw unexpectedReply(describe(request), reply)
  }
  /** The array a 2xx body holds under `key` (`{ "systems": [...] }`). */
  async function list<T>(request: Outgoing, key: string): Promise<T[]> {
    const reply = await transport(request)
    if (ok(reply) && isObject(reply.body) && Array.isArray(reply.body[key])) return reply.body[key] as T[]
    throw unexpectedReply(describe(request), reply)
  }
  async function maybe<T>(request: Outgoing): Promise<T | null> {
    const reply = await transport(request)
    if (ok(reply) && isObject(reply.body)) return reply.body as T
    if (isNotFound(reply)) return null
    throw unexpectedReply(describe(request), reply)
  }

  const systemPath = (name: string) => `/v1/admin/systems/${segment('system name', name)}`
  const userPath = (authid: string) => `/v1/admin/users/${segment('authid', authid)}`
  const signal = (options: CallOptions | undefined) => options?.signal

  return {
    systems: {
      list: async (options) =>
        list({ method: 'GET', path: '/v1/admin/systems', signal: signal(options) }, 'systems'),
      create: async (input, options) =>
        call({ method: 'POST', path: '/v1/admin/systems', body: input, signal: signal(options) }),
      get: async (name, options) => maybe({ method: 'GET', path: systemPath(name), signal: signal(options) }),
      update: async (name, changes, options) =>
        call({ method: 'PATCH', path: systemPath(name), body: changes, signal: signal(options) }),
    },
    users: {
      list: async (page, options) =>
        call({
          method: 'GET',
          path: '/v1/admin/users',
          query: { after: page?.after, limit: page?.limit },
          signal: signal(options),
        }),
      create: async (input, options) =>
        call({ method: 'POST', path: '/v1/admin/users', body: input, signal: signal(options) }),
      get: async (authid, options) =>
        maybe({ method: 'GET', path: userPath(authid), signal: signal(options) }),
      update: async (authid, changes, options) =>
        call({ method: 'PATCH', path: userPath(authid), body: changes, signal: signal(options) }),
      async remove(authid, options) {
        const request: Outgoing = { method: 'DELETE', path: userPath(authid), signal: signal(options) }
        const reply = await transport(request)
        if (!ok(reply)) throw unexpectedReply(describe(request), reply)
      },
      assign: async (authid, assignments, options) =>
        list(
          {
            method: 'POST',
            path: `${userPath(authid)}/assignments`,
            body: { assignments },
            signal: signal(options),
          },
          'assignments',
        ),
      assignments: async (authid, options) =>
        list(
          { method: 'GET', path: `${userPath(authid)}/assignments`, signal: signal(options) },
          'assignments',
        ),
      unlock: async (authid, options) =>
        call({ method: 'POST', path: `${userPath(authid)}/unlock`, body: {}, signal: signal(options) }),
    },
    keys: {
      list: async (options) =>
        list({ method: 'GET', path: '/v1/admin/keys', signal: signal(options) }, 'keys'),
      create: async (input, options) =>
        // JSON.stringify writes a Date `expiresAt` as its ISO string.
        call({ method: 'POST', path: '/v1/admin/keys', body: input, signal: signal(options) }),
      async revoke(id, options) {
        const request: Outgoing = {
          method: 'DELETE',
          path: `/v1/admin/keys/${segment('key id', id)}`,
          signal: signal(options),
        }
        const reply = await transport(request)
        if (ok(reply)) return !(isObject(reply.body) && reply.body.revoked === false)
        if (isNotFound(reply)) return false
        throw unexpectedReply(describe(request), reply)
      },
    },
    audit: {
      list: async (filters, options) =>
        call({
          method: 'GET',
          path: '/v1/admin/audit',
          query: { ...filters, since: iso(filters?.since), until: iso(filters?.until) },
          signal: signal(options),
        }),
    },
  }
}

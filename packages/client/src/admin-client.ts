import { calls, iso, signalOf } from './calls.js'
import { segment, type Transport, unexpectedReply } from './transport.js'
import type {
  AccountSettings,
  ApiKeyInfo,
  ApiKeyInput,
  Assignment,
  AssignmentInput,
  AuditFilters,
  AuditPage,
  AuditSearchFilters,
  AuditSearchPage,
  AuditVerdict,
  CallOptions,
  ConsoleGrant,
  ConsoleGrantInput,
  CreatedApiKey,
  DeliveryListOptions,
  DeliveryPage,
  LoginStats,
  LoginStatsOptions,
  MessagePreview,
  Overview,
  PinAfterLoginInput,
  PreviewInput,
  SettingsChanges,
  Simulation,
  StartInput,
  System,
  SystemChanges,
  SystemInput,
  User,
  UserChanges,
  UserInput,
  UserPage,
  UserSearchOptions,
  UserSearchPage,
} from './types.js'

type O = CallOptions | undefined

/**
 * Every admin route (`/v1/admin/…`, `POST /v1/pin`, `/metrics`), for a key with the `admin` scope;
 * failures throw `FlexSecureHttpError`.
 */
export interface AdminClient {
  readonly systems: {
    list(options?: CallOptions): Promise<System[]>
    create(input: SystemInput, options?: CallOptions): Promise<System>
    /** The system, or null when there is none by that name. */
    get(name: string, options?: CallOptions): Promise<System | null>
    /** Merges `changes.policies` over the current ones; sensitivity, rules, messages, returnUrl replace. */
    update(name: string, changes: SystemChanges, options?: CallOptions): Promise<System>
  }
  readonly users: {
    /** Users by authid; pass the returned `next` as `after` for the following page. */
    list(
      page?: { readonly after?: string; readonly limit?: number },
      options?: CallOptions,
    ): Promise<UserPage>
    /** Users whose authid, display name, email or phone starts with `query`. */
    search(query?: UserSearchOptions, options?: CallOptions): Promise<UserSearchPage>
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
    /** Sets the user's memorized PIN, or clears it with null. */
    setPin(authid: string, pin: string | null, options?: CallOptions): Promise<void>
    /** The PIN a user chose within 5 minutes of an authenticated login (`POST /v1/pin`). */
    setPinAfterLogin(input: PinAfterLoginInput, options?: CallOptions): Promise<void>
  }
  readonly keys: {
    list(options?: CallOptions): Promise<ApiKeyInfo[]>
    /** Creates a key; the answer carries `key`, the only time it is shown. */
    create(input: ApiKeyInput, options?: CallOptions): Promise<CreatedApiKey>
    /** Revokes at once; false when the server knows no live key by that id. */
    revoke(id: string, options?: CallOptions): Promise<boolean>
  }
  readonly settings: {
    get(options?: CallOptions): Promise<AccountSettings>
    /** Changes what is given; answers the settings after the change. */
    update(changes: SettingsChanges, options?: CallOptions): Promise<AccountSettings>
  }
  readonly policy: {
    /** The decision a start would take, with the rules that matched; sends and records nothing. */
    simulate(input: StartInput, options?: CallOptions): Promise<Simulation>
  }
  readonly audit: {
    /** Events by ascending sequence number; pass `next` as `after` for the following page. */
    list(filters?: AuditFilters, options?: CallOptions): Promise<AuditPage>
    /** Every matching event as JSON Lines or CSV, as one text. */
    export(filters: AuditFilters | undefined, format: 'jsonl' | 'csv', options?: CallOptions): Promise<string>
    /** Newest first, within a bounded window; pass `next` as `before` for the following page. */
    search(filters?: AuditSearchFilters, options?: CallOptions): Promise<AuditSearchPage>
    /** Walks the HMAC chain; names the first event that does not verify. */
    verify(options?: CallOptions): Promise<AuditVerdict>
  }
  readonly deliveries: {
    /** The outbox: waiting deliveries, or abandoned ones. */
    list(query?: DeliveryListOptions, options?: CallOptions): Promise<DeliveryPage>
    /** Sends a waiting delivery at the next outbox run; false when it is not waiting (sent, abandoned, in flight). */
    requeue(id: string, options?: CallOptions): Promise<boolean>
  }
  readonly stats: {
    logins(query?: LoginStatsOptions, options?: CallOptions): Promise<LoginStats>
    overview(options?: CallOptions): Promise<Overview>
  }
  readonly messages: {
    /** A message as a user would get it, with a sample link or PIN. */
    preview(input: PreviewInput, options?: CallOptions): Promise<MessagePreview>
  }
  readonly console: {
    /** Gives a user a console role, or takes it away with `role: null`. */
    grant(authid: string, grant: ConsoleGrantInput, options?: CallOptions): Promise<ConsoleGrant>
  }
  /** The account's Prometheus counters, as text. */
  metrics(options?: CallOptions): Promise<string>
}

/** The admin surface over a transport. */
export function adminClient(transport: Transport): AdminClient {
  const call = calls(transport)
  const systemPath = (name: string) => `/v1/admin/systems/${segment('system name', name)}`
  const userPath = (authid: string) => `/v1/admin/users/${segment('authid', authid)}`
  const get = (path: string, options: O, query?: Record<string, string | number | undefined>) => ({
    method: 'GET' as const,
    path,
    signal: signalOf(options),
    ...(query ? { query } : {}),
  })
  const send = (method: 'POST' | 'PUT' | 'PATCH', path: string, body: unknown, options: O) => ({
    method,
    path,
    body,
    signal: signalOf(options),
  })
  const auditQuery = (filters: AuditFilters | AuditSearchFilters | undefined) => ({
    ...filters,
    since: iso(filters?.since),
    until: iso(filters?.until),
  })

  return {
    systems: {
      list: async (options) => call.list(get('/v1/admin/systems', options), 'systems'),
      create: async (input, options) => call.object(send('POST', '/v1/admin/systems', input, options)),
      get: async (name, options) => call.maybe(get(systemPath(name), options)),
      update: async (name, changes, options) =>
        call.object(send('PATCH', systemPath(name), changes, options)),
    },
    users: {
      list: async (page, options) =>
        call.object(get('/v1/admin/users', options, { after: page?.after, limit: page?.limit })),
      search: async (query, options) => call.object(get('/v1/admin/user-search', options, { ...query })),
      create: async (input, options) => call.object(send('POST', '/v1/admin/users', input, options)),
      get: async (authid, options) => call.maybe(get(userPath(authid), options)),
      update: async (authid, changes, options) =>
        call.object(send('PATCH', userPath(authid), changes, options)),
      remove: async (authid, options) => {
        await call.done({ method: 'DELETE', path: userPath(authid), signal: signalOf(options) })
      },
      assign: async (authid, assignments, options) =>
        call.list(send('POST', `${userPath(authid)}/assignments`, { assignments }, options), 'assignments'),
      assignments: async (authid, options) =>
        call.list(get(`${userPath(authid)}/assignments`, options), 'assignments'),
      unlock: async (authid, options) => call.object(send('POST', `${userPath(authid)}/unlock`, {}, options)),
      setPin: async (authid, pin, options) => {
        await call.done(send('PUT', `${userPath(authid)}/pin`, { pin }, options))
      },
      setPinAfterLogin: async (input, options) => {
        await call.done(send('POST', '/v1/pin', input, options))
      },
    },
    keys: {
      list: async (options) => call.list(get('/v1/admin/keys', options), 'keys'),
      create: async (input, options) =>
        call.object(send('POST', '/v1/admin/keys', { ...input, expiresAt: iso(input.expiresAt) }, options)),
      revoke: async (id, options) =>
        call.done(
          { method: 'DELETE', path: `/v1/admin/keys/${segment('key id', id)}`, signal: signalOf(options) },
          true,
        ),
    },
    settings: {
      get: async (options) => call.object(get('/v1/admin/settings', options)),
      update: async (changes, options) => call.object(send('PATCH', '/v1/admin/settings', changes, options)),
    },
    policy: {
      simulate: async (input, options) =>
        call.object(send('POST', '/v1/admin/policy/simulate', input, options)),
    },
    audit: {
      list: async (filters, options) => call.object(get('/v1/admin/audit', options, auditQuery(filters))),
      export: async (filters, format, options) =>
        call.text(get('/v1/admin/audit', options, { ...auditQuery(filters), format })),
      search: async (filters, options) =>
        call.object(get('/v1/admin/audit/search', options, auditQuery(filters))),
      verify: async (options) => call.object(get('/v1/admin/audit/verify', options)),
    },
    deliveries: {
      list: async (query, options) => call.object(get('/v1/admin/deliveries', options, { ...query })),
      async requeue(id, options) {
        const request = {
          method: 'POST' as const,
          path: `/v1/admin/deliveries/${segment('delivery id', id)}/requeue`,
          signal: signalOf(options),
        }
        const reply = await transport(request)
        if (reply.status === 200) return true
        const body = reply.body as { result?: unknown } | null
        if (reply.status === 409 && body?.result === 'conflict') return false
        throw unexpectedReply(`POST ${request.path}`, reply)
      },
    },
    stats: {
      logins: async (query, options) =>
        call.object(get('/v1/admin/stats/logins', options, { ...query, until: iso(query?.until) })),
      overview: async (options) => call.object(get('/v1/admin/stats/overview', options)),
    },
    messages: {
      preview: async (input, options) =>
        call.object(send('POST', '/v1/admin/messages/preview', input, options)),
    },
    console: {
      grant: async (authid, grant, options) =>
        call.object(
          send('PUT', `/v1/admin/console/administrators/${segment('authid', authid)}`, grant, options),
        ),
    },
    metrics: async (options) => call.text(get('/metrics', options)),
  }
}

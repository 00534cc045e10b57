import { calls, signalOf } from './calls.js'
import { segment, type Transport, unexpectedReply } from './transport.js'
import type { Account, CallOptions, CreatedAccount, Readiness } from './types.js'

/**
 * The operator's routes (`/v1/operator/…`), for a client made with an operator key (`fso_…`), and the
 * readiness probe anyone may call; failures throw `FlexSecureHttpError`.
 */
export interface OperatorClient {
  readonly accounts: {
    list(options?: CallOptions): Promise<Account[]>
    /** The account, or null when there is none by that id. */
    get(id: string, options?: CallOptions): Promise<Account | null>
    /** A new account with its first admin key (`adminKey`, shown this once). */
    create(input: { readonly name: string }, options?: CallOptions): Promise<CreatedAccount>
  }
  /** `/readyz`: `ok`, or `unavailable` (a 503) with the problem; never throws for a 503 with a body. */
  readiness(options?: CallOptions): Promise<Readiness>
}

/** The operator surface over a transport. */
export function operatorClient(transport: Transport): OperatorClient {
  const call = calls(transport)
  return {
    accounts: {
      list: async (options) =>
        call.list({ method: 'GET', path: '/v1/operator/accounts', signal: signalOf(options) }, 'accounts'),
      get: async (id, options) =>
        call.maybe({
          method: 'GET',
          path: `/v1/operator/accounts/${segment('account id', id)}`,
          signal: signalOf(options),
        }),
      create: async (input, options) =>
        call.object({
          method: 'POST',
          path: '/v1/operator/accounts',
          body: input,
          signal: signalOf(options),
        }),
    },
    async readiness(options) {
      const reply = await transport({ method: 'GET', path: '/readyz', signal: signalOf(options) })
      const body = reply.body as { status?: unknown } | null
      if ((reply.status === 200 || reply.status === 503) && typeof body?.status === 'string')
        return body as Readiness
      throw unexpectedReply('GET /readyz', reply)
    },
  }
}

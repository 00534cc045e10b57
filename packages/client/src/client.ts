import { type AdminClient, adminClient } from './admin-client.js'
import { readCheck, readRedeem, readStart } from './answers.js'
import { type AuthenticateOptions, authenticate } from './authentication.js'
import { delay, secureRandom } from './delay.js'
import { createTransport } from './transport.js'
import type {
  AuthenticateAnswer,
  CallOptions,
  CheckAnswer,
  CheckInput,
  FetchLike,
  RedeemAnswer,
  Sleep,
  StartAnswer,
  StartInput,
} from './types.js'

/** Where the FlexSecure server is and the API key to call it with. */
export interface ClientOptions {
  /** The server's URL; a trailing slash and a path prefix (`https://host/auth`) are fine. */
  readonly baseUrl: string | URL
  /** Sent only in the `apikey` header. Keep it on the server: never ship this client to a browser. */
  readonly apiKey: string
  /** Another `fetch` (a proxy agent, a test double); the global one by default. */
  readonly fetch?: FetchLike
  /** Sent as the `user-agent` header. */
  readonly userAgent?: string
  /** For tests: how `authenticate` waits, so no test sleeps for real. */
  readonly sleep?: Sleep
  /** For tests: the random source of the poll jitter, in [0, 1). */
  readonly random?: () => number
  /** For tests: the clock that turns a `Retry-After` header into a date. */
  readonly now?: () => number
}

/** A FlexSecure API client; documented refusals are answers, everything else throws `FlexSecureHttpError`. */
export interface FlexSecureClient {
  /** Starts a login: sends the user a link or a one-time PIN. */
  start(input: StartInput, options?: CallOptions): Promise<StartAnswer>
  /** Asks how a login stands, or submits the PIN the user typed. */
  check(input: CheckInput, options?: CallOptions): Promise<CheckAnswer>
  /** Starts a passwordless login and polls `check` until it is authenticated, expired or refused. */
  authenticate(options: AuthenticateOptions): Promise<AuthenticateAnswer>
  /**
   * Same device: spends the completion code the return URL received (`?code=`), once, within 60
   * seconds, for the login's system, authid and challenge. Needs an `auth` key of the login's account.
   */
  redeem(code: string, options?: CallOptions): Promise<RedeemAnswer>
  /** The admin routes; they need a key with the `admin` scope. */
  readonly admin: AdminClient
}

/**
 * Creates a client for one FlexSecure server and API key, on `fetch` alone (Node 20+, edge runtimes).
 *
 * ```ts
 * const flexsecure = createClient({ baseUrl: 'https://auth.example.com', apiKey: process.env.FLEXSECURE_KEY! })
 * const answer = await flexsecure.authenticate({ system: 'payroll', authid: 'alice', signal })
 * if (answer.result === 'authenticated') signIn('alice')
 * ```
 */
export function createClient(options: ClientOptions): FlexSecureClient {
  const transport = createTransport(options)
  const now = options.now ?? Date.now

  const start = async (input: StartInput, signal: AbortSignal | undefined) =>
    readStart(await transport({ method: 'POST', path: '/v1/start', body: input, signal }), now())
  const check = async (input: CheckInput, signal: AbortSignal | undefined) =>
    readCheck(await transport({ method: 'POST', path: '/v1/check', body: input, signal }), now())
  const driver = { start, check, sleep: options.sleep ?? delay, random: options.random ?? secureRandom }

  return {
    start: async (input, callOptions) => (await start(input, callOptions?.signal)).answer,
    check: async (input, callOptions) => (await check(input, callOptions?.signal)).answer,
    authenticate: (authenticateOptions) => authenticate(driver, authenticateOptions),
    redeem: async (code, callOptions) =>
      readRedeem(
        await transport({ method: 'POST', path: '/v1/redeem', body: { code }, signal: callOptions?.signal }),
      ),
    admin: adminClient(transport),
  }
}

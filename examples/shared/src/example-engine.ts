import {
  type AccountHandle,
  type Clock,
  createEngine,
  type Engine,
  type EngineOptions,
  type Notifier,
} from '@flexsecure/core'
import { sqliteStorage } from '@flexsecure/sqlite'

/** The system the sign-in examples' users sign in to. */
export const EXAMPLE_SYSTEM = 'web'

/** Where the examples' engine keeps its data, where its links point, and what it starts with. */
export interface ExampleEngineOptions {
  /** A SQLite file (created on first run), or `:memory:`. */
  readonly filename: string
  /** At least 32 characters, from your secret store; the same on every start. */
  readonly secret: string
  /**
   * The app's public URL: links point at `${appUrl}/v1/links/{token}`, served by the app itself. A
   * function when it is known only once the app listens (a test on a free port).
   */
  readonly appUrl: string | (() => string)
  readonly notifier: Notifier
  readonly clock?: Clock
  /**
   * The engine's own timers (`deliverDue` every second, `runDue` every 30 s): on by default with the
   * system clock, off with an injected one unless given here (tests shorten them).
   */
  readonly background?: EngineOptions['background']
  /**
   * Creates or updates the example's systems and users. It runs on every boot, so it must be
   * idempotent (`systems.ensure`, users created when missing).
   */
  readonly seed: (account: AccountHandle) => Promise<void>
}

/** The engine on SQLite, migrated, with the example’s account: found or created, and set up, on every boot. */
export async function openExampleEngine(
  options: ExampleEngineOptions,
): Promise<{ readonly engine: Engine; readonly account: AccountHandle }> {
  const { appUrl } = options
  const engine = createEngine({
    storage: sqliteStorage({ filename: options.filename }),
    notifier: options.notifier,
    secret: options.secret,
    links:
      typeof appUrl === 'string'
        ? { baseUrl: appUrl }
        : { baseUrl: 'http://localhost', url: (token) => `${appUrl()}/v1/links/${token}` },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.background !== undefined ? { background: options.background } : {}),
  })
  await engine.migrate()
  // Idempotent boot: the same setup in code on every start, a no-op once it is in place.
  const account = engine.account((await engine.accounts.ensure({ name: 'Example' })).id)
  await options.seed(account)
  return { engine, account }
}

/** Creates the user and assigns them, unless they already exist (a seed that runs on every boot). */
export async function ensureUser(
  account: AccountHandle,
  user: { readonly authid: string; readonly email: string },
  assignments: Parameters<AccountHandle['users']['assign']>[1],
): Promise<void> {
  if (await account.users.get(user.authid)) return
  await account.users.create(user)
  await account.users.assign(user.authid, assignments)
}

/** Where the sign-in examples receive the browser that confirmed a link (same-device completion). */
export const RETURN_PATH = '/auth/return'

/**
 * The sign-in examples' data: a `web` system signing in by magic link with number matching (the
 * link's page asks for the code the waiting page shows), listing the app's return URL so the link
 * also signs in the browser that opens it, and two users. Idempotent: it runs on every boot.
 */
export function seedSignIn(appUrl?: string): (account: AccountHandle) => Promise<void> {
  return async (account) => {
    await account.systems.ensure({
      name: EXAMPLE_SYSTEM,
      policies: {
        passwordless: { enabled: true, ...(appUrl ? { returnUrls: [`${appUrl}${RETURN_PATH}`] } : {}) },
      },
      rules: [{ name: 'number-matching', effect: { numberMatching: true } }],
    })
    for (const authid of ['alice', 'bob'])
      await ensureUser(account, { authid, email: `${authid}@example.com` }, [
        { system: EXAMPLE_SYSTEM, method: 'passwordless' },
      ])
  }
}

/** What `pnpm start` of an example reads from the environment. */
export interface ExampleConfig {
  readonly port: number
  readonly appUrl: string
  readonly database: string
  readonly secret: string
  /** Whether cookies carry `Secure`: on whenever the app is served over https. */
  readonly secureCookies: boolean
}

/** Reads PORT, APP_URL, EXAMPLE_DB and FLEXSECURE_SECRET, with development defaults it warns about. */
export function exampleConfig(name: string, env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const port = Number(env.PORT ?? 3000)
  const appUrl = (env.APP_URL ?? `http://localhost:${port}`).replace(/\/+$/, '')
  const secret = env.FLEXSECURE_SECRET ?? ''
  if (secret.length < 32)
    console.warn(
      `[${name}] FLEXSECURE_SECRET is not set: using a development secret. Never do that in production.`,
    )
  return {
    port,
    appUrl,
    database: env.EXAMPLE_DB ?? `./${name}.db`,
    secret: secret.length >= 32 ? secret : `development-only-secret-for-${name}-0123456789`,
    secureCookies: appUrl.startsWith('https:'),
  }
}

import type { AccountHandle, Clock, Engine } from '@flexsecure/core'
import { createLinkPagesHandler } from '@flexsecure/http'
import { consoleNotifier } from '@flexsecure/server'
import type { scheduleDueWork } from './due-work.js'
import { EXAMPLE_SYSTEM, exampleConfig, openExampleEngine, seedSignIn } from './example-engine.js'
import { createLoginFlow } from './login-flow.js'
import { memorySessions } from './sessions.js'

/** What each sign-in example's `createApp` takes: the engine in process and the account its users are in. */
export interface SignInAppOptions {
  readonly engine: Engine
  readonly account: AccountHandle
  /** The engine's secret: the link pages key their form tokens with it. */
  readonly secret: string
  /** `Secure` on the cookies: true whenever the app is served over https. */
  readonly secureCookies?: boolean
  readonly clock?: Clock
}

/** What each sign-in example's `serve` takes besides the app's options. */
export interface ServeOptions extends SignInAppOptions {
  readonly port: number
  readonly host?: string
  /** The periodic work's cadences (tests shorten them). */
  readonly dueWork?: Parameters<typeof scheduleDueWork>[1]
}

/** A listening example app. */
export interface RunningApp {
  readonly url: string
  /** Stops the periodic work and the listener; the engine is the caller's to close. */
  close(): Promise<void>
}

/** The framework-free parts of a sign-in app: the flow over the account, and the link pages. */
export function signInParts(options: SignInAppOptions) {
  const { clock } = options
  const now = clock ? () => clock.now() : Date.now
  return {
    flow: createLoginFlow({
      api: options.account,
      system: EXAMPLE_SYSTEM,
      sessions: memorySessions(now),
      now,
    }),
    // Only the link pages: /metrics and the admin API stay off the host's public app.
    linkPages: createLinkPagesHandler({ engine: options.engine, secret: options.secret, now }),
  }
}

/**
 * `pnpm start` of an example: a SQLite file seeded on its first run, messages printed to the console
 * (links and PINs), stopped by Ctrl-C. `hint` tells the person at the terminal what to do.
 */
export async function runExample(
  name: string,
  serve: (options: ServeOptions) => Promise<RunningApp>,
  options: { readonly seed?: (account: AccountHandle) => Promise<void>; readonly hint?: string } = {},
) {
  const config = exampleConfig(name)
  const { engine, account } = await openExampleEngine({
    filename: config.database,
    secret: config.secret,
    appUrl: config.appUrl,
    notifier: consoleNotifier(),
    seed: options.seed ?? seedSignIn,
  })
  const app = await serve({
    engine,
    account,
    secret: config.secret,
    secureCookies: config.secureCookies,
    port: config.port,
  })
  console.log(
    `${name}: open ${config.appUrl} and ${options.hint ?? 'sign in as alice or bob'}; messages are printed here.`,
  )
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void app.close().then(() => engine.close())
    })
}

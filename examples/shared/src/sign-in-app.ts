import type { AccountHandle, Clock, Engine } from '@flexsecure/core'
import { consoleNotifier } from '@flexsecure/core/testing'
import { createLinkPagesHandler } from '@flexsecure/http'
import {
  EXAMPLE_SYSTEM,
  exampleConfig,
  openExampleEngine,
  RETURN_PATH,
  seedSignIn,
} from './example-engine.js'
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
  /**
   * The app's own URL, when its system lists `${appUrl}/auth/return` (same device: the link then also
   * signs in the browser that opens it). A function when known only once the app listens.
   */
  readonly appUrl?: string | (() => string)
}

/** What each sign-in example's `serve` takes besides the app's options. */
export interface ServeOptions extends SignInAppOptions {
  readonly port: number
  readonly host?: string
}

/** A listening example app. */
export interface RunningApp {
  readonly url: string
  /** Stops the listener; the engine (and its periodic work) is the caller's to close. */
  close(): Promise<void>
}

/** The framework-free parts of a sign-in app: the flow over the account, and the link pages. */
export function signInParts(options: SignInAppOptions) {
  const { clock, appUrl } = options
  const now = clock ? () => clock.now() : Date.now
  return {
    flow: createLoginFlow({
      api: options.account,
      system: EXAMPLE_SYSTEM,
      sessions: memorySessions(now),
      now,
      ...(appUrl !== undefined
        ? {
            returnUrl:
              typeof appUrl === 'string' ? `${appUrl}${RETURN_PATH}` : () => `${appUrl()}${RETURN_PATH}`,
          }
        : {}),
    }),
    // Only the link pages: /metrics and the admin API stay off the host's public app.
    linkPages: createLinkPagesHandler({ engine: options.engine, secret: options.secret, now }),
  }
}

/**
 * `pnpm start` of an example: a SQLite file set up in code on every boot (idempotently), messages printed to the console
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
    seed: options.seed ?? seedSignIn(config.appUrl),
  })
  const app = await serve({
    engine,
    account,
    secret: config.secret,
    secureCookies: config.secureCookies,
    port: config.port,
    ...(options.seed ? {} : { appUrl: config.appUrl }),
  })
  console.log(
    `${name}: open ${config.appUrl} and ${options.hint ?? 'sign in as alice or bob'}; messages are printed here.`,
  )
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void app
        .close()
        .then(() => engine.close())
        .catch((error) => {
          // The database's last sync failed: the last writes may not be on the disk.
          console.error('closing failed:', (error as Error)?.message)
          process.exitCode = 1
        })
    })
}

import type { AccountHandle, Engine, EngineOptions } from '@flexsecure/core'
import {
  type CaptureNotifier,
  captureNotifier,
  type ManualClock,
  manualClock,
} from '@flexsecure/core/testing'
import { EXAMPLE_SYSTEM, openExampleEngine, RETURN_PATH, seedSignIn } from '../example-engine.js'
import type { RunningApp, ServeOptions } from '../sign-in-app.js'

/** A secret for tests only. */
export const TEST_SECRET = 'example-test-secret-example-test-secret'

/** One example app on a free port, over a fresh in-memory engine with a manual clock and captured mail. */
export interface SignInHarness {
  readonly app: RunningApp
  readonly engine: Engine
  readonly account: AccountHandle
  readonly clock: ManualClock
  readonly notifier: CaptureNotifier
  /** The link in the newest message to `authid`. */
  linkFor(authid: string): string
  close(): Promise<void>
}

/** Starts `serve` the way a test needs it; `close` stops the app, then the engine. */
export async function startSignInHarness(
  serve: (options: ServeOptions) => Promise<RunningApp>,
  options: { readonly background?: EngineOptions['background'] } = {},
): Promise<SignInHarness> {
  const clock = manualClock(Date.now())
  const notifier = captureNotifier()
  let url = ''
  // The link's address is the app's, known once the app listens on its free port.
  const { engine, account } = await openExampleEngine({
    filename: ':memory:',
    secret: TEST_SECRET,
    appUrl: () => url,
    notifier,
    clock,
    seed: seedSignIn(),
    ...(options.background !== undefined ? { background: options.background } : {}),
  })
  const app = await serve({ engine, account, secret: TEST_SECRET, clock, port: 0, appUrl: () => url })
  url = app.url
  // Same device: the system lists the app's return URL, on the port it got.
  await account.systems.ensure({
    name: EXAMPLE_SYSTEM,
    policies: { passwordless: { returnUrls: [`${url}${RETURN_PATH}`] } },
  })
  return {
    app,
    engine,
    account,
    clock,
    notifier,
    linkFor(authid) {
      const link = notifier.last(`${authid}@example.com`).link
      if (!link) throw new Error(`the newest message to ${authid} has no link`)
      return link
    },
    async close() {
      await app.close()
      await engine.close()
    },
  }
}

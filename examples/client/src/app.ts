import type { FlexSecureClient } from '@flexsecure/client'
import { createSignInApp, serveOnNode } from '@flexsecure/example-hono'
import { createLoginFlow, memorySessions, type RunningApp } from '@flexsecure/example-shared'

// The Hono example's app, with FlexSecure as its own server: the flow calls `start` and `check` over
// HTTP with the client. What changes from the engine in process: the server serves the link pages (its
// base URL is in the links), and the server runs the periodic work, so the app has neither.

/** The client the app calls FlexSecure with, and where the app listens. */
export interface ClientAppOptions {
  /** `createClient({ baseUrl, apiKey })` with a key of scope `auth`; it stays on this back end. */
  readonly flexsecure: FlexSecureClient
  /** The system the app's users sign in to. */
  readonly system: string
  readonly secureCookies?: boolean
  readonly port: number
  readonly host?: string
}

/** Serves the sign-in app over a FlexSecure server until `close`. */
export function serve(options: ClientAppOptions): Promise<RunningApp> {
  const flow = createLoginFlow({
    api: options.flexsecure,
    system: options.system,
    sessions: memorySessions(),
  })
  return serveOnNode(
    createSignInApp({ flow, linkPages: null, secureCookies: options.secureCookies ?? false }),
    options,
  )
}

// What the Express, Hono, Fastify and client examples share: the login flow, its pages and sessions,
// and the engine as the examples open it (its periodic work runs on the engine's own timers).

export {
  EXAMPLE_SYSTEM,
  type ExampleConfig,
  type ExampleEngineOptions,
  ensureUser,
  exampleConfig,
  openExampleEngine,
  RETURN_PATH,
  seedSignIn,
} from './example-engine.js'
export {
  type BeginOutcome,
  createLoginFlow,
  type Ending,
  endedMessage,
  type LoginApi,
  type LoginFlow,
  type LoginFlowOptions,
  type PollOutcome,
  type RequestContext,
} from './login-flow.js'
export { toNodeListener } from './node-listener.js'
export { serveListener } from './node-server.js'
export {
  crossSitePage,
  escapeHtml,
  PAGE_HEADERS,
  page,
  signedInPage,
  signInPage,
  waitingPage,
} from './pages.js'
export { isCrossSite, nextLocation, requestContext } from './request-context.js'
export { COOKIES, memorySessions, SESSION_SECONDS, type SessionStore } from './sessions.js'
export {
  type RunningApp,
  runExample,
  type ServeOptions,
  type SignInAppOptions,
  signInParts,
} from './sign-in-app.js'
export { SCRIPT_HEADERS, WAITING_SCRIPT, WAITING_SCRIPT_PATH } from './waiting-script.js'

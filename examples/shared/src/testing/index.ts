// What the examples' tests share: a browser without a screen over real HTTP, an app on a fresh engine
// with a manual clock, and the suite every sign-in example passes.

export { type Answer, formToken, type HttpBrowser, httpBrowser } from './http-browser.js'
export { type SignInHarness, startSignInHarness, TEST_SECRET } from './sign-in-harness.js'
export { describeSignInApp } from './sign-in-suite.js'

// `@flexsecure/http/contract`: the HTTP API's request and response shapes, written once (zod), and the
// table of every route. The server validates with them, the OpenAPI document is generated from them,
// and `@flexsecure/client`'s types are generated from the same JSON Schemas.

export * from './admin-answers.js'
export * from './insight-answers.js'
export * from './login-answers.js'
export { contractJsonSchemas, Instant } from './registry.js'
export * from './requests.js'
export { type Access, ROUTES, type Route } from './routes.js'

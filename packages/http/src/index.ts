export { type ConnectionInfo, createHttpHandler, type HttpHandlerOptions, pathOf } from './http-handler.js'
export { createLinkPagesHandler, type LinkPagesOptions } from './link-pages-handler.js'
export { openApiDocument } from './openapi.js'
export {
  type CommitStats,
  isOperatorKey,
  OPERATOR_KEY_PREFIX,
  type OperatorOptions,
} from './operator-routes.js'

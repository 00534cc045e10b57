export { type ConnectionInfo, createHttpHandler, type HttpHandlerOptions } from './http-handler.js'
export { openApiDocument } from './openapi.js'

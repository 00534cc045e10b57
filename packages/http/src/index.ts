export { createHttpHandler, type HttpHandlerOptions } from './http-handler.js'
export { openApiDocument } from './openapi.js'

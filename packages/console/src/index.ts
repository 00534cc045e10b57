export { CONSOLE_HEADERS, type ConsoleHandler, type ConsoleOptions, createConsole } from './console-app.js'
export type { ConnectionInfo } from './console-context.js'
export { renderJsxWithoutAsyncContext } from './jsx-async-context.js'

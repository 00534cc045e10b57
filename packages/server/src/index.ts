export { ConfigError, loadConfig, SETTINGS, type ServerConfig } from './config.js'
export { consoleNotifier } from './dev-notifier.js'
export { bootstrap, type FirstRun, howToCall } from './first-run.js'
export { type RunningServer, type ServerHttpOptions, startServer } from './server.js'

export { consoleNotifier } from '@flexsecure/core/testing'
export { ConfigError, databaseKind, loadConfig, SETTINGS, type ServerConfig } from './config.js'
export { type ConfigFile, readConfigFile } from './config-file.js'
export { prepareDataDirectory } from './data-directory.js'
export { deliveryFor } from './delivery.js'
export { bootstrap, type FirstRun, howToCall } from './first-run.js'
export { redactUrl } from './redaction.js'
export {
  openStorage,
  type RunningServer,
  type ServerHttpOptions,
  type ServerStorage,
  startServer,
} from './server.js'

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Notifier, Storage } from '@flexsecure/core'
import { ConfigError, refuseUnknownKeys } from './config.js'
import { MODULE_KEYS } from './settings.js'

/** What a config file gives: settings (the keys of SETTINGS) and, from a module, code. */
export interface ConfigFile {
  readonly values: Record<string, unknown>
  /** Replaces the storage FLEXSECURE_DB would open. */
  readonly storage?: Storage
  /** Replaces the notifiers the SMTP and SMS settings would make. */
  readonly notifier?: Notifier
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Reads a config file: JSON (`.json`), or an ES module (`.mjs`, `.js`) whose default export is the
 * object, or a function (maybe async) returning it. A module may also hand over a `storage` and a
 * `notifier`. Unknown keys are refused with the list of valid ones.
 *
 * ```js
 * // flexsecure.config.mjs
 * export default { baseUrl: 'https://auth.example.com', notifier: myNotifier }
 * ```
 */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  const absolute = resolve(path)
  let loaded: unknown
  if (/\.json$/i.test(absolute)) {
    try {
      loaded = JSON.parse(readFileSync(absolute, 'utf8'))
    } catch (error) {
      throw new ConfigError(`cannot read the config file ${absolute}: ${(error as Error).message}`)
    }
  } else {
    let module: { default?: unknown }
    try {
      module = await import(pathToFileURL(absolute).href)
    } catch (error) {
      throw new ConfigError(
        `cannot load the config module ${absolute}: ${(error as Error).message.split('\n')[0]}`,
      )
    }
    loaded = typeof module.default === 'function' ? await (module.default as () => unknown)() : module.default
  }
  if (!isObject(loaded))
    throw new ConfigError(`the config file ${absolute} must hold an object (a module: as its default export)`)
  const json = /\.json$/i.test(absolute)
  refuseUnknownKeys(loaded, `the config file ${absolute}`, json ? [] : MODULE_KEYS)
  const { storage, notifier, ...values } = loaded as Record<string, unknown> & {
    storage?: unknown
    notifier?: unknown
  }
  if (storage !== undefined && !(isObject(storage) && typeof storage.migrate === 'function'))
    throw new ConfigError(
      `storage in ${absolute} must be a Storage (sqliteStorage(…), postgresStorage(…), your own)`,
    )
  if (notifier !== undefined && !(isObject(notifier) && typeof notifier.send === 'function'))
    throw new ConfigError(`notifier in ${absolute} must be a Notifier: an object with send(message)`)
  return {
    values,
    ...(storage ? { storage: storage as unknown as Storage } : {}),
    ...(notifier ? { notifier: notifier as unknown as Notifier } : {}),
  }
}

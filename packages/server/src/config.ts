import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import {
  type OperatorCeilings,
  resolveCeilings,
  resolveThrottle,
  type ThrottleInput,
  ValidationError,
} from '@flexsecure/core'
import { SETTINGS, type SettingKey } from './settings.js'

export { SETTINGS } from './settings.js'

/** The server's settings. Only this package reads the environment (STYLE.md 3). */
export interface ServerConfig {
  /** A SQLite file (its directory is created), or a `postgres://` or `mysql://` URL. */
  readonly database: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** Where links point; never taken from a request (S13). Defaults to http://localhost:<port>. */
  readonly baseUrl: string | null
  readonly secret: string
  /** Secrets the current one replaced, newest first (S33): they open and verify, never seal. */
  readonly previousSecrets?: readonly string[]
  /** A directory for signed audit checkpoints (S34), or null when none is configured. */
  readonly auditCheckpoints?: string | null
  /** Where the secret came from, for the start-up message. */
  readonly secretSource: 'environment' | 'config file' | 'generated file' | 'existing file'
  /** A generated secret not written yet: `prepareDataDirectory` writes it here (0600). */
  readonly secretFile?: string | null
  readonly sweepSeconds: number
  /** S35: days ended challenges are kept after expiry. */
  readonly challengeRetentionDays?: number
  /** The share of a challenge's lifetime a failing message's retries are spread over. */
  readonly deliveryRetryWindowPercent?: number
  /** Behind a reverse proxy: browser addresses come from the last `X-Forwarded-For` entry. */
  readonly trustProxy?: boolean
  /** Budgets of `start` and `check` (S19, S31), over the engine's defaults; `false` turns them off. */
  readonly throttle?: ThrottleInput | null
  /** Production mode (S32): no console notifier unless allowed, credentials to a file, strict file modes. */
  readonly production?: boolean
  /** In production, start with the console notifier anyway. */
  readonly allowConsoleNotifier?: boolean
  /** Where production mode writes the first run's keys. */
  readonly credentialsFile?: string | null
  /** SHA-256 hex digests of the operator keys; empty: no operator endpoints. */
  readonly operatorKeySha256?: readonly string[]
  /** `smtp://user:pass@host:587` or `smtps://…`: email goes out through it. Null: printed (development). */
  readonly smtpUrl: string | null
  /** The sender of every email. */
  readonly mailFrom: string
  /** Sender addresses by account id, over `mailFrom`. */
  readonly mailFromByAccount?: Readonly<Record<string, string>>
  readonly mailReplyTo?: string | null
  readonly smtpTls?: {
    readonly requireTls: boolean
    readonly rejectUnauthorized: boolean
    readonly caFile: string | null
    readonly servername: string | null
  }
  /** Twilio credentials and sender for SMS; null when SMS is not configured. */
  readonly twilio: {
    readonly accountSid: string
    readonly authToken: string
    readonly from: string | null
    readonly messagingServiceSid: string | null
    readonly baseUrl: string | null
  } | null
  /** A signed JSON webhook for SMS (any gateway); null when not configured. */
  readonly smsWebhook?: {
    readonly url: string
    readonly signingSecret: string | null
    readonly headers: Readonly<Record<string, string>>
    readonly body: unknown
    readonly idField: string | null
  } | null
  /** The loosest settings an account may choose (S18), and the fewest days of audit it keeps (S34). */
  readonly ceilings?: OperatorCeilings | null
}

/** A setting is wrong or missing; the message says which and what to do. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Which database a `database` setting names. */
export type DatabaseKind = 'postgres' | 'mysql' | 'sqlite'

/** `postgres://` and `postgresql://`, `mysql://` and `mariadb://`; any other `scheme://` is refused. */
export function databaseKind(database: string): DatabaseKind {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(database)?.[1]?.toLowerCase()
  if (scheme === undefined) return 'sqlite'
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres'
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql'
  throw new ConfigError(
    `${SETTINGS.database.env}: unknown database scheme ${scheme}://; use a SQLite file path, postgres://… or mysql://…`,
  )
}

/** Whether `database` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database)
}

/** Levenshtein distance, for "did you mean" on a mistyped variable. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    previous = current
  }
  return previous[b.length] as number
}

const ENV_NAMES: readonly string[] = Object.values(SETTINGS).map((spec) => spec.env)

/**
 * A FLEXSECURE_ variable one or two letters away from a setting's is a typo, not another tool's
 * variable: refused, naming the one meant.
 */
function refuseMistypedEnv(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(env)) {
    if (!name.startsWith('FLEXSECURE_') || ENV_NAMES.includes(name) || name === 'FLEXSECURE_CONFIG') continue
    const meant = ENV_NAMES.find((known) => distance(name, known) <= 2)
    if (meant) throw new ConfigError(`unknown variable ${name}: did you mean ${meant}?`)
  }
}

/** Refuses keys that are not settings, listing the valid ones. */
export function refuseUnknownKeys(
  values: Record<string, unknown>,
  where: string,
  extra: readonly string[] = [],
) {
  const valid = [...Object.keys(SETTINGS), ...extra]
  const unknown = Object.keys(values).filter((key) => !valid.includes(key))
  if (unknown.length)
    throw new ConfigError(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ${where}; valid keys: ${valid.join(', ')}`,
    )
}

/**
 * The configuration from the environment over `fileValues` (a config file's settings), validated.
 * Reads an existing generated secret but creates nothing: `prepareDataDirectory` does that, for the
 * commands that open the database.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  fileValues: Record<string, unknown> = {},
  options: { readonly production?: boolean } = {},
): ServerConfig {
  refuseMistypedEnv(env)
  refuseUnknownKeys(fileValues, 'the config file')
  const fromFile = (key: SettingKey) => fileValues[key] !== undefined && fileValues[key] !== null
  const read = (key: SettingKey): string => {
    const fromEnv = env[SETTINGS[key].env]
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv
    const value = fileValues[key]
    if (!fromFile(key)) return SETTINGS[key].default
    return typeof value === 'object' ? JSON.stringify(value) : String(value)
  }
  const name = (key: SettingKey) => SETTINGS[key].env
  const integer = (key: SettingKey, min: number, max: number) => {
    const value = Number(read(key))
    if (!Number.isInteger(value) || value < min || value > max)
      throw new ConfigError(`${name(key)} must be a whole number from ${min} to ${max}, not ${read(key)}`)
    return value
  }
  const boolean = (key: SettingKey) => {
    const value = read(key).toLowerCase()
    if (['true', '1'].includes(value)) return true
    if (['false', '0', ''].includes(value)) return false
    throw new ConfigError(`${name(key)} must be true or false, not ${read(key)}`)
  }
  const json = <T>(key: SettingKey, check: (value: unknown) => value is T, shape: string): T | null => {
    const text = read(key)
    if (!text) return null
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new ConfigError(`${name(key)} must be JSON: ${shape}`)
    }
    if (!check(value)) throw new ConfigError(`${name(key)} must be ${shape}`)
    return value
  }
  const url = (key: SettingKey, schemes: RegExp, what: string) => {
    const value = read(key) || null
    if (value !== null && !schemes.test(value)) throw new ConfigError(`${name(key)} must be ${what}`)
    return value
  }
  const stringMap = (value: unknown): value is Record<string, string> =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')

  const port = integer('port', 0, 65535)
  const sweepSeconds = integer('sweepSeconds', 1, 86_400)
  const challengeRetentionDays = integer('challengeRetentionDays', 1, 36_500)
  const deliveryRetryWindowPercent = integer('deliveryRetryWindowPercent', 0, 100)
  const rawDatabase = read('database')
  const kind = databaseKind(rawDatabase)
  const database = kind === 'sqlite' ? resolve(rawDatabase) : rawDatabase
  const baseUrl = url('baseUrl', /^https?:\/\//, 'an http(s) URL')
  const smtpUrl = url('smtpUrl', /^smtps?:\/\//, 'an smtp:// or smtps:// URL')

  let twilio: ServerConfig['twilio'] = null
  const accountSid = read('twilioAccountSid')
  if (accountSid) {
    const authToken = read('twilioAuthToken')
    const from = read('twilioFrom') || null
    const messagingServiceSid = read('twilioMessagingServiceSid') || null
    if (!authToken)
      throw new ConfigError(`${name('twilioAuthToken')} is required with ${name('twilioAccountSid')}`)
    if (!from && !messagingServiceSid)
      throw new ConfigError(`set ${name('twilioFrom')} or ${name('twilioMessagingServiceSid')} to send SMS`)
    twilio = {
      accountSid,
      authToken,
      from,
      messagingServiceSid,
      baseUrl: url('twilioBaseUrl', /^https?:\/\//, 'an http(s) URL'),
    }
  }
  const webhookUrl = url('smsWebhookUrl', /^https?:\/\//, 'an http(s) URL')
  if (webhookUrl && twilio)
    throw new ConfigError(
      `set either ${name('twilioAccountSid')} or ${name('smsWebhookUrl')}, not both: SMS has one provider`,
    )
  const smsWebhook: ServerConfig['smsWebhook'] = webhookUrl
    ? {
        url: webhookUrl,
        signingSecret: read('smsWebhookSigningSecret') || null,
        headers: json('smsWebhookHeaders', stringMap, 'a JSON object of header names to strings') ?? {},
        body: json(
          'smsWebhookBody',
          (v): v is unknown => typeof v === 'object' && v !== null,
          'a JSON object or array',
        ),
        idField: read('smsWebhookIdField') || null,
      }
    : null
  const ceilings = operatorCeilings(
    json(
      'ceilings',
      (v): v is unknown => typeof v === 'object' && v !== null && !Array.isArray(v),
      'a JSON object: {"sendLimits": {…}, "lockout": {…}, "auditRetentionDays": n}',
    ),
    name('ceilings'),
  )
  const throttle = json(
    'throttle',
    (v): v is ThrottleInput => v === false || (typeof v === 'object' && v !== null && !Array.isArray(v)),
    'false, or a JSON object such as {"start":{"perKey":{"burst":100,"perSecond":5}}}',
  )
  try {
    resolveThrottle(throttle ?? undefined)
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(`${name('throttle')}: ${error.message}`)
    throw error
  }
  const previousSecrets = read('previousSecrets')
    .split(',')
    .map((secret) => secret.trim())
    .filter(Boolean)
  if (previousSecrets.some((secret) => secret.length < 32))
    throw new ConfigError(`${name('previousSecrets')} must list secrets of at least 32 characters each`)
  const digests = read('operatorKeySha256')
    .split(',')
    .map((digest) => digest.trim().toLowerCase())
    .filter(Boolean)
  if (digests.some((digest) => !/^[0-9a-f]{64}$/.test(digest)))
    throw new ConfigError(
      `${name('operatorKeySha256')} must list SHA-256 hex digests; \`flexsecure operator-key\` prints one`,
    )

  const production = options.production === true || boolean('production') || env.NODE_ENV === 'production'
  const common = {
    database,
    host: read('host'),
    port,
    baseUrl,
    sweepSeconds,
    challengeRetentionDays,
    deliveryRetryWindowPercent,
    trustProxy: boolean('trustProxy'),
    throttle,
    production,
    allowConsoleNotifier: boolean('allowConsoleNotifier'),
    credentialsFile: read('credentialsFile') ? resolve(read('credentialsFile')) : null,
    operatorKeySha256: digests,
    smtpUrl,
    mailFrom: read('mailFrom'),
    mailFromByAccount:
      json('mailFromByAccount', stringMap, 'a JSON object of account ids to sender addresses') ?? {},
    mailReplyTo: read('mailReplyTo') || null,
    smtpTls: {
      requireTls: boolean('smtpRequireTls'),
      rejectUnauthorized: boolean('smtpTlsRejectUnauthorized'),
      caFile: read('smtpTlsCaFile') ? resolve(read('smtpTlsCaFile')) : null,
      servername: read('smtpTlsServername') || null,
    },
    twilio,
    smsWebhook,
    ceilings,
    previousSecrets,
    auditCheckpoints: read('auditCheckpoints') ? resolve(read('auditCheckpoints')) : null,
  }

  const configured = read('secret')
  if (configured) {
    if (configured.length < 32) throw new ConfigError(`${name('secret')} must be at least 32 characters`)
    const source = env[name('secret')] ? 'environment' : 'config file'
    return { ...common, secret: configured, secretSource: source, secretFile: null }
  }
  // Instances sharing a database server must share the secret too, or their audit MACs disagree.
  if (kind !== 'sqlite')
    throw new ConfigError(
      `${name('secret')} is required with a ${kind === 'postgres' ? 'PostgreSQL' : 'MySQL'} database: every instance must use the same one`,
    )
  const secretFile = join(dirname(database), 'secret')
  if (existsSync(secretFile))
    return {
      ...common,
      secret: readFileSync(secretFile, 'utf8').trim(),
      secretSource: 'existing file',
      secretFile: null,
    }
  return {
    ...common,
    secret: randomBytes(32).toString('base64url'),
    secretSource: 'generated file',
    secretFile,
  }
}

/** The ceilings as core validates them, a mistake reported as a one-line configuration error. */
function operatorCeilings(value: unknown, variable: string): OperatorCeilings | null {
  if (value === null) return null
  try {
    return resolveCeilings(value)
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(`${variable}: ${error.message}`)
    throw error
  }
}

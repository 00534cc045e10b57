import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/** The server's settings. Only this package reads the environment (STYLE.md 3). */
export interface ServerConfig {
  /** A SQLite file (its directory is created), or a `postgres://` URL. */
  readonly database: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** Where links point; never taken from a request (S13). Defaults to http://localhost:<port>. */
  readonly baseUrl: string | null
  readonly secret: string
  /** Where the secret came from, for the start-up message. */
  readonly secretSource: 'environment' | 'config file' | 'generated file' | 'existing file'
  readonly sweepSeconds: number
  /** Behind a reverse proxy: browser addresses come from the last `X-Forwarded-For` entry. */
  readonly trustProxy?: boolean
  /** `smtp://user:pass@host:587` or `smtps://…`: email goes out through it. Null: printed (development). */
  readonly smtpUrl: string | null
  /** The sender of every email. */
  readonly mailFrom: string
  /** Twilio credentials and sender for SMS; null when SMS is not configured. */
  readonly twilio: {
    readonly accountSid: string
    readonly authToken: string
    readonly from: string | null
    readonly messagingServiceSid: string | null
    readonly baseUrl: string | null
  } | null
}

/** The configuration table of the README, one row per key: environment variable and config-file key. */
export const SETTINGS = {
  database: { env: 'FLEXSECURE_DB', default: './data/flexsecure.db' },
  host: { env: 'FLEXSECURE_HOST', default: '127.0.0.1' },
  port: { env: 'FLEXSECURE_PORT', default: '8080' },
  baseUrl: { env: 'FLEXSECURE_BASE_URL', default: '' },
  secret: { env: 'FLEXSECURE_SECRET', default: '' },
  sweepSeconds: { env: 'FLEXSECURE_SWEEP_SECONDS', default: '30' },
  trustProxy: { env: 'FLEXSECURE_TRUST_PROXY', default: 'false' },
  smtpUrl: { env: 'FLEXSECURE_SMTP_URL', default: '' },
  mailFrom: { env: 'FLEXSECURE_MAIL_FROM', default: 'FlexSecure <no-reply@localhost>' },
  twilioAccountSid: { env: 'FLEXSECURE_TWILIO_ACCOUNT_SID', default: '' },
  twilioAuthToken: { env: 'FLEXSECURE_TWILIO_AUTH_TOKEN', default: '' },
  twilioFrom: { env: 'FLEXSECURE_TWILIO_FROM', default: '' },
  twilioMessagingServiceSid: { env: 'FLEXSECURE_TWILIO_MESSAGING_SERVICE_SID', default: '' },
  twilioBaseUrl: { env: 'FLEXSECURE_TWILIO_BASE_URL', default: '' },
} as const

/** Whether `database` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database)
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/**
 * Reads `FLEXSECURE_CONFIG` (a JSON file with the keys of SETTINGS) if set, then the environment,
 * which wins. Without a secret, one is generated once into `secret` beside the database (mode 0600).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  let file: Record<string, unknown> = {}
  if (env.FLEXSECURE_CONFIG) {
    try {
      file = JSON.parse(readFileSync(env.FLEXSECURE_CONFIG, 'utf8'))
    } catch (error) {
      throw new ConfigError(
        `cannot read FLEXSECURE_CONFIG ${env.FLEXSECURE_CONFIG}: ${(error as Error).message}`,
      )
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file))
      throw new ConfigError('FLEXSECURE_CONFIG must hold a JSON object')
    const unknown = Object.keys(file).filter((key) => !(key in SETTINGS))
    if (unknown.length) throw new ConfigError(`unknown keys in FLEXSECURE_CONFIG: ${unknown.join(', ')}`)
  }
  const read = (key: keyof typeof SETTINGS): string => {
    const fromEnv = env[SETTINGS[key].env]
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv
    const fromFile = file[key]
    return fromFile === undefined || fromFile === null ? SETTINGS[key].default : String(fromFile)
  }
  const port = Number(read('port'))
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${SETTINGS.port.env} must be a port number`)
  const sweepSeconds = Number(read('sweepSeconds'))
  if (!Number.isInteger(sweepSeconds) || sweepSeconds < 1)
    throw new ConfigError(`${SETTINGS.sweepSeconds.env} must be a whole number of seconds`)
  const trustProxy = read('trustProxy').toLowerCase()
  if (!['true', 'false', '1', '0', ''].includes(trustProxy))
    throw new ConfigError(`${SETTINGS.trustProxy.env} must be true or false`)
  const rawDatabase = read('database')
  const postgres = isPostgresUrl(rawDatabase)
  const database = postgres ? rawDatabase : resolve(rawDatabase)
  const baseUrl = read('baseUrl') || null
  const smtpUrl = read('smtpUrl') || null
  if (smtpUrl !== null && !/^smtps?:\/\//.test(smtpUrl))
    throw new ConfigError(`${SETTINGS.smtpUrl.env} must be an smtp:// or smtps:// URL`)
  const accountSid = read('twilioAccountSid')
  let twilio: ServerConfig['twilio'] = null
  if (accountSid) {
    const authToken = read('twilioAuthToken')
    const from = read('twilioFrom') || null
    const messagingServiceSid = read('twilioMessagingServiceSid') || null
    if (!authToken)
      throw new ConfigError(
        `${SETTINGS.twilioAuthToken.env} is required with ${SETTINGS.twilioAccountSid.env}`,
      )
    if (!from && !messagingServiceSid)
      throw new ConfigError(
        `set ${SETTINGS.twilioFrom.env} or ${SETTINGS.twilioMessagingServiceSid.env} to send SMS`,
      )
    twilio = { accountSid, authToken, from, messagingServiceSid, baseUrl: read('twilioBaseUrl') || null }
  }
  const proxied = trustProxy === 'true' || trustProxy === '1'
  const mail = { smtpUrl, mailFrom: read('mailFrom'), twilio, trustProxy: proxied }
  if (baseUrl !== null && !/^https?:\/\//.test(baseUrl))
    throw new ConfigError(`${SETTINGS.baseUrl.env} must be an http(s) URL`)

  const configured = read('secret')
  const fromEnv = Boolean(env[SETTINGS.secret.env])
  if (configured) {
    if (configured.length < 32) throw new ConfigError(`${SETTINGS.secret.env} must be at least 32 characters`)
    return {
      database,
      host: read('host'),
      port,
      baseUrl,
      secret: configured,
      secretSource: fromEnv ? 'environment' : 'config file',
      sweepSeconds,
      ...mail,
    }
  }
  // Instances sharing a PostgreSQL database must share the secret too, or their audit MACs disagree.
  if (postgres)
    throw new ConfigError(
      `${SETTINGS.secret.env} is required with a PostgreSQL database: every instance must use the same one`,
    )
  mkdirSync(dirname(database), { recursive: true })
  const secretFile = join(dirname(database), 'secret')
  if (existsSync(secretFile))
    return {
      database,
      host: read('host'),
      port,
      baseUrl,
      secret: readFileSync(secretFile, 'utf8').trim(),
      secretSource: 'existing file',
      sweepSeconds,
      ...mail,
    }
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  return {
    database,
    host: read('host'),
    port,
    baseUrl,
    secret,
    secretSource: 'generated file',
    sweepSeconds,
    ...mail,
  }
}

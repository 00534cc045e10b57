/** How a setting's text is read. */
export type SettingKind = 'string' | 'integer' | 'boolean' | 'url' | 'json' | 'path' | 'list'

/** One server setting: its environment variable, its key in a config file, its kind and default. */
export interface SettingSpec {
  readonly env: string
  readonly kind: SettingKind
  /** The default as text; '' means unset. */
  readonly default: string
  /** One line for `--help` and docs/configuration.md. */
  readonly doc: string
}

/**
 * Every server setting, by config-file key. docs/configuration.md documents each one (a test holds
 * them together); a config file with any other key is refused with this list.
 */
export const SETTINGS = {
  database: {
    env: 'FLEXSECURE_DB',
    kind: 'string',
    default: './data/flexsecure.db',
    doc: 'a SQLite file, or a postgres://, postgresql://, mysql:// or mariadb:// URL (PostgreSQL: `?connect_timeout=` in seconds bounds the wait for the server, 10 by default)',
  },
  host: { env: 'FLEXSECURE_HOST', kind: 'string', default: '127.0.0.1', doc: 'address to listen on' },
  port: { env: 'FLEXSECURE_PORT', kind: 'integer', default: '8080', doc: 'port; 0 picks a free one' },
  baseUrl: {
    env: 'FLEXSECURE_BASE_URL',
    kind: 'url',
    default: '',
    doc: 'where links point (https://auth.example.com); default http://localhost:<port>',
  },
  secret: {
    env: 'FLEXSECURE_SECRET',
    kind: 'string',
    default: '',
    doc: 'at least 32 characters; generated into `secret` beside a SQLite database when unset',
  },
  previousSecrets: {
    env: 'FLEXSECURE_PREVIOUS_SECRETS',
    kind: 'list',
    default: '',
    doc: 'secrets the current one replaced, newest first, comma-separated: they still open and verify what they sealed (S33; docs/operations.md)',
  },
  auditCheckpoints: {
    env: 'FLEXSECURE_AUDIT_CHECKPOINTS',
    kind: 'path',
    default: '',
    doc: 'a directory outside the database where signed audit checkpoints are written and verified against (S34)',
  },
  production: {
    env: 'FLEXSECURE_PRODUCTION',
    kind: 'boolean',
    default: 'false',
    doc: 'production mode (also NODE_ENV=production or --production): see docs/operations.md',
  },
  allowConsoleNotifier: {
    env: 'FLEXSECURE_ALLOW_CONSOLE_NOTIFIER',
    kind: 'boolean',
    default: 'false',
    doc: 'in production, start even though no SMTP or SMS is configured (messages are printed)',
  },
  credentialsFile: {
    env: 'FLEXSECURE_CREDENTIALS_FILE',
    kind: 'path',
    default: '',
    doc: 'where production mode writes the first run’s keys (0600); default first-run-credentials beside a SQLite database, else in the working directory',
  },
  operatorKeySha256: {
    env: 'FLEXSECURE_OPERATOR_KEY_SHA256',
    kind: 'list',
    default: '',
    doc: 'SHA-256 (hex) of each operator key (`flexsecure operator-key`), comma-separated; enables /v1/operator and all-account /metrics',
  },
  sweepSeconds: {
    env: 'FLEXSECURE_SWEEP_SECONDS',
    kind: 'integer',
    default: '30',
    doc: 'how often expired challenges are swept',
  },
  challengeRetentionDays: {
    env: 'FLEXSECURE_CHALLENGE_RETENTION_DAYS',
    kind: 'integer',
    default: '30',
    doc: 'days an ended challenge and its messages are kept after expiry, then purged by the sweep (S35); the audit trail keeps its events',
  },
  deliveryRetryWindowPercent: {
    env: 'FLEXSECURE_DELIVERY_RETRY_WINDOW_PERCENT',
    kind: 'integer',
    default: '80',
    doc: 'the share of a link’s or PIN’s lifetime over which a failing message’s retries are spread (0: 2 s doubling)',
  },
  trustProxy: {
    env: 'FLEXSECURE_TRUST_PROXY',
    kind: 'boolean',
    default: 'false',
    doc: 'behind one reverse proxy: audit the browser address from the last X-Forwarded-For entry',
  },
  throttle: {
    env: 'FLEXSECURE_THROTTLE',
    kind: 'json',
    default: '',
    doc: 'start and check calls per key, per account and per login, and refusals audited a minute (S19, S31); false turns them off',
  },
  smtpUrl: {
    env: 'FLEXSECURE_SMTP_URL',
    kind: 'url',
    default: '',
    doc: 'smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465',
  },
  mailFrom: {
    env: 'FLEXSECURE_MAIL_FROM',
    kind: 'string',
    default: 'FlexSecure <no-reply@localhost>',
    doc: 'the sender of every email',
  },
  mailFromByAccount: {
    env: 'FLEXSECURE_MAIL_FROM_BY_ACCOUNT',
    kind: 'json',
    default: '',
    doc: 'a JSON object: account id → sender address for that account’s email',
  },
  mailReplyTo: { env: 'FLEXSECURE_MAIL_REPLY_TO', kind: 'string', default: '', doc: 'a Reply-To address' },
  smtpRequireTls: {
    env: 'FLEXSECURE_SMTP_REQUIRE_TLS',
    kind: 'boolean',
    default: 'false',
    doc: 'refuse to send over smtp:// unless the server offers STARTTLS',
  },
  smtpTlsRejectUnauthorized: {
    env: 'FLEXSECURE_SMTP_TLS_REJECT_UNAUTHORIZED',
    kind: 'boolean',
    default: 'true',
    doc: 'false accepts a server certificate that does not verify (testing only)',
  },
  smtpTlsCaFile: {
    env: 'FLEXSECURE_SMTP_TLS_CA_FILE',
    kind: 'path',
    default: '',
    doc: 'a PEM file of CA certificates to trust for the SMTP server',
  },
  smtpTlsServername: {
    env: 'FLEXSECURE_SMTP_TLS_SERVERNAME',
    kind: 'string',
    default: '',
    doc: 'the name the SMTP server’s certificate must carry, when it differs from the URL’s host',
  },
  twilioAccountSid: {
    env: 'FLEXSECURE_TWILIO_ACCOUNT_SID',
    kind: 'string',
    default: '',
    doc: 'Twilio account SID: SMS goes out through Twilio',
  },
  twilioAuthToken: {
    env: 'FLEXSECURE_TWILIO_AUTH_TOKEN',
    kind: 'string',
    default: '',
    doc: 'Twilio auth token',
  },
  twilioFrom: { env: 'FLEXSECURE_TWILIO_FROM', kind: 'string', default: '', doc: 'the sending number' },
  twilioMessagingServiceSid: {
    env: 'FLEXSECURE_TWILIO_MESSAGING_SERVICE_SID',
    kind: 'string',
    default: '',
    doc: 'or a Messaging Service that picks the number',
  },
  twilioBaseUrl: {
    env: 'FLEXSECURE_TWILIO_BASE_URL',
    kind: 'url',
    default: '',
    doc: 'another Twilio edge, or a test gateway',
  },
  smsWebhookUrl: {
    env: 'FLEXSECURE_SMS_WEBHOOK_URL',
    kind: 'url',
    default: '',
    doc: 'SMS goes out as a signed JSON POST to this URL (any gateway)',
  },
  smsWebhookSigningSecret: {
    env: 'FLEXSECURE_SMS_WEBHOOK_SIGNING_SECRET',
    kind: 'string',
    default: '',
    doc: 'signs each webhook body (x-flexsecure-signature: t=…,v1=HMAC-SHA256)',
  },
  smsWebhookHeaders: {
    env: 'FLEXSECURE_SMS_WEBHOOK_HEADERS',
    kind: 'json',
    default: '',
    doc: 'a JSON object of extra headers (the gateway’s API key)',
  },
  smsWebhookBody: {
    env: 'FLEXSECURE_SMS_WEBHOOK_BODY',
    kind: 'json',
    default: '',
    doc: 'the JSON body template; {{to}} {{text}} {{id}} {{kind}} {{locale}} {{channel}}',
  },
  smsWebhookIdField: {
    env: 'FLEXSECURE_SMS_WEBHOOK_ID_FIELD',
    kind: 'string',
    default: '',
    doc: 'where the gateway’s answer holds its message id (default id)',
  },
  ceilings: {
    env: 'FLEXSECURE_CEILINGS',
    kind: 'json',
    default: '',
    doc: 'the loosest send limits and lockout accounts may set, and the minimum audit retention (S18, S34)',
  },
} as const satisfies Record<string, SettingSpec>

/** A config-file key. */
export type SettingKey = keyof typeof SETTINGS

/** The keys a config module may set besides the settings: code the server cannot read from text. */
export const MODULE_KEYS = ['storage', 'notifier'] as const

// The configuration the in-process server tests start `startServer` with: a SQLite file, an ephemeral
// port on loopback, no provider, and a secret from the environment; a test overrides what it is about.
import type { ServerConfig } from '../src/config.js'

export function testServerConfig(database: string, overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    database,
    host: '127.0.0.1',
    port: 0,
    baseUrl: null,
    secret: 's'.repeat(40),
    secretSource: 'environment',
    sweepSeconds: 3600,
    smtpUrl: null,
    mailFrom: 'test <test@localhost>',
    twilio: null,
    ...overrides,
  }
}

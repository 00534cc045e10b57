// Better Auth as a contender, in process: its magic-link and email-OTP plugins at their defaults, on a
// better-sqlite3 file with the same pragmas as FlexSecure's (WAL, synchronous=NORMAL, ...). The send
// callbacks keep the token or OTP for the login to take, as FlexSecure's notifier does; no network.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { applyPragmas } from '@flexsecure/sqlite'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { emailOTP, magicLink } from 'better-auth/plugins'
import BetterSqlite3 from 'better-sqlite3'
import { BENCH_SECRET, emailOf } from './flexsecure-contender.js'
import { type Contender, runStep, type StepRunner } from './login-harness.js'

/** The installed Better Auth's version, for the output. */
export function betterAuthVersion(): string {
  const main = createRequire(import.meta.url).resolve('better-auth')
  // dist/index.mjs → the package's root.
  const manifest = join(dirname(dirname(main)), 'package.json')
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
}

/** Hands each address's newest secret over once, like `Inbox` on FlexSecure's side. */
function mailbox() {
  const waiting = new Map<string, string>()
  return {
    put: (to: string, secret: string) => waiting.set(to, secret),
    take(to: string): string {
      const secret = waiting.get(to)
      if (secret === undefined) throw new Error(`Better Auth: nothing was sent to ${to}`)
      waiting.delete(to)
      return secret
    },
  }
}

function createAuth(database: BetterSqlite3.Database, sent: ReturnType<typeof mailbox>) {
  return betterAuth({
    database,
    secret: BENCH_SECRET,
    baseURL: 'https://auth.example.com',
    // Off by default; said here so nobody has to look it up: the bench makes no network calls.
    telemetry: { enabled: false },
    plugins: [
      magicLink({ sendMagicLink: async ({ email, token }) => void sent.put(email, token) }),
      emailOTP({ sendVerificationOTP: async ({ email, otp }) => void sent.put(email, otp) }),
    ],
  })
}

type Auth = ReturnType<typeof createAuth>

/**
 * A link login: the magic link is sent (a verification row), verified (the row consumed, a session
 * created, its cookie set), then the session is read back with that cookie: signed in.
 */
async function linkLogin(auth: Auth, sent: ReturnType<typeof mailbox>, n: number, step: StepRunner) {
  const email = emailOf(n)
  await step('start', () => auth.api.signInMagicLink({ body: { email }, headers: new Headers() }))
  const token = sent.take(email)
  const verified = await step('confirm', () =>
    auth.api.magicLinkVerify({ query: { token }, headers: new Headers(), returnHeaders: true }),
  )
  const cookie = verified.headers.get('set-cookie')?.split(';')[0]
  if (!cookie) throw new Error('Better Auth: the magic link set no session cookie')
  const session = await step('check', () => auth.api.getSession({ headers: new Headers({ cookie }) }))
  if (session?.user.email !== email) throw new Error('Better Auth: no session after the magic link')
}

/** A PIN login: the OTP is sent (a verification row), then signed in with (the row consumed, a session). */
async function pinLogin(auth: Auth, sent: ReturnType<typeof mailbox>, n: number, step: StepRunner) {
  const email = emailOf(n)
  await step('start', () => auth.api.sendVerificationOTP({ body: { email, type: 'sign-in' } }))
  const otp = sent.take(email)
  const signed = await step('check', () => auth.api.signInEmailOTP({ body: { email, otp } }))
  if (signed.user.email !== email || !signed.token) throw new Error('Better Auth: the OTP did not sign in')
}

/**
 * Better Auth on `filename`, its schema created by its own migrations. Users are created by their first
 * link login (the plugin signs up an unknown address): warm up with a link login per user first.
 */
export async function betterAuthContender(options: {
  readonly name: string
  readonly filename: string
  /** Another connection to use instead of opening `filename` (the counting pass's). */
  readonly database?: BetterSqlite3.Database
}): Promise<Contender> {
  const database = options.database ?? new BetterSqlite3(options.filename)
  // WAL and synchronous=NORMAL: the faster file, as in the before-figures (bench/README.md).
  applyPragmas(database, 5000, 'normal')
  const sent = mailbox()
  const auth = createAuth(database, sent)
  const { runMigrations } = await getMigrations(auth.options)
  await runMigrations()
  return {
    name: options.name,
    flows: ['link', 'pin'],
    database,
    login: (flow, n, step = runStep) =>
      flow === 'link' ? linkLogin(auth, sent, n, step) : pinLogin(auth, sent, n, step),
    async close() {
      if (database.open) database.close()
    },
  }
}

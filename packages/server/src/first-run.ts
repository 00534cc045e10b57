import type { Engine } from '@flexsecure/core'

export interface FirstRun {
  readonly accountId: string
  readonly adminKey: string
  readonly authKey: string
}

/**
 * On an empty database: an account, an admin key and an auth key, and a `demo` system with a `demo`
 * user (passwordless by email), so the printed curl example works as printed. Null when the database
 * already has an account.
 */
export async function bootstrap(engine: Engine): Promise<FirstRun | null> {
  if ((await engine.accounts.list()).length > 0) return null
  const account = await engine.accounts.create({ name: 'Default' })
  const acme = engine.account(account.id, { actor: 'first-run' })
  const adminKey = (await acme.apiKeys.create({ name: 'first admin key', scopes: ['admin', 'auth'] })).key
  const authKey = (await acme.apiKeys.create({ name: 'first auth key', scopes: ['auth'] })).key
  await acme.systems.create({
    name: 'demo',
    policies: { passwordless: { enabled: true }, pin: { enabled: true } },
  })
  await acme.users.create({ authid: 'demo', displayName: 'Demo user', email: 'demo@example.com' })
  await acme.users.assign('demo', [{ system: 'demo', method: 'passwordless' }])
  return { accountId: account.id, adminKey, authKey }
}

/** How to call the server, with working commands. */
export function howToCall(
  url: string,
  first: FirstRun | null,
  delivery: 'printed' | 'emailed' | 'sms only' = 'printed',
): string {
  const key = first?.authKey ?? '<your auth key>'
  const curl = (path: string) =>
    `  curl -s -X POST ${url}${path} -H 'content-type: application/json' -H 'apikey: ${key}' -d '{"system":"demo","authid":"demo"}'`
  return [
    ...(first
      ? [
          `First run: created account Default (${first.accountId}), a demo system and a demo user.`,
          `  admin key: ${first.adminKey}`,
          `  auth key:  ${first.authKey}`,
          '  These keys are shown once: store them now. More with `flexsecure keys create`.',
        ]
      : []),
    'Try a passwordless login:',
    curl('/v1/start'),
    delivery === 'printed'
      ? '  then open the link the development notifier prints below, press Confirm, and:'
      : delivery === 'emailed'
        ? '  then open the link emailed to demo@example.com (change that user to your address first), press Confirm, and:'
        : '  (only SMS is configured, and the demo user has only an email address: give it a phone number first,\n   PATCH /v1/admin/users/demo {"phone":"+1…"}) then open the link it receives, press Confirm, and:',
    curl('/v1/check'),
    `API description: ${url}/v1/openapi.json`,
  ].join('\n')
}

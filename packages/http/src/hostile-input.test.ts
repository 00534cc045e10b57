import { csvCell } from '@flexsecure/core'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sqliteStorage } from '../../../adapters/sqlite/src/index.js'
import { BASE, type HandlerFixture, handlerFixture, storageKinds } from '../test/storage-fixtures.js'

// Issue 12, item 6, on every storage: input the schemas let through reached the database, where
// PostgreSQL refused U+0000 with a 500; JSON nested 10,000 deep overflowed a recursive check (500);
// the audit CSV wrote `=HYPERLINK(…)` as a live formula.

const kinds = await storageKinds()
afterAll(async () => {
  for (const kind of kinds) await kind.drop()
}, 60_000)

describe.each(kinds)('hostile input on $name', (kind) => {
  let f: HandlerFixture
  beforeEach(async () => {
    f = await handlerFixture(await kind.open())
    await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
  }, 30_000)
  afterEach(async () => {
    await f.close()
  }, 30_000)

  const call = async (method: string, path: string, body?: unknown, key: 'auth' | 'admin' = 'admin') => {
    const response = await f.handler(
      new Request(`${BASE}${path}`, {
        method,
        headers: { apikey: f.keys[key], 'content-type': 'application/json' },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      }),
    )
    const text = await response.text()
    return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text }
  }

  it.each([
    ['objects', (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`],
    ['arrays', (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`],
  ])('refuses %s nested 10,000 deep with 400, not a 500 (S30)', async (_name, nest) => {
    const start = await call(
      'POST',
      '/v1/start',
      `{"system":"payroll","authid":"alice","context":${nest(10_000)}}`,
      'auth',
    )
    expect(start).toMatchObject({ status: 400, body: { result: 'bad request' } })
    expect(start.body.error).toContain('nested deeper than 8 levels')
    const admin = await call('PATCH', '/v1/admin/settings', `{"messages":${nest(10_000)}}`)
    expect(admin.status).toBe(400)
    expect(f.notifier.messages).toHaveLength(0)
  })

  it('accepts the deepest body a schema allows (a rule’s time window)', async () => {
    const rules = [
      { name: 'hours', when: { timeIn: { timeZone: 'UTC', days: ['mon'] } }, effect: { deny: true } },
    ]
    expect((await call('PATCH', '/v1/admin/systems/payroll', { rules })).status).toBe(200)
  })

  const login = { system: 'payroll', authid: 'alice' }
  it.each([
    [
      'a context value',
      'POST',
      '/v1/start',
      { ...login, context: { ip: '203.0.113.7\u0000' } },
      'auth',
      'context',
    ],
    ['a context key', 'POST', '/v1/start', { ...login, context: { 'de\u0000vice': 'x' } }, 'auth', 'context'],
    [
      'the user agent in check',
      'POST',
      '/v1/check',
      { ...login, context: { userAgent: 'a\u0000' } },
      'auth',
      'context',
    ],
    ['an authid', 'POST', '/v1/start', { system: 'payroll', authid: 'al\u0000ice' }, 'auth', 'authid'],
    [
      'a display name (NUL)',
      'POST',
      '/v1/admin/users',
      { authid: 'bob', displayName: 'B\u0000b' },
      'admin',
      'displayName',
    ],
    [
      'a display name (CR/LF)',
      'POST',
      '/v1/admin/users',
      { authid: 'bob', displayName: 'Bob\r\nBcc: x@evil.example' },
      'admin',
      'displayName',
    ],
    [
      'a display name (DEL)',
      'PATCH',
      '/v1/admin/users/alice',
      { displayName: 'A\u007f' },
      'admin',
      'displayName',
    ],
    [
      'a display name (C1)',
      'PATCH',
      '/v1/admin/users/alice',
      { displayName: 'A\u0085' },
      'admin',
      'displayName',
    ],
    [
      'an attribute key',
      'PATCH',
      '/v1/admin/users/alice',
      { attributes: { 'de\u0000pt': 'x' } },
      'admin',
      'attributes',
    ],
    ['a key name', 'POST', '/v1/admin/keys', { name: 'ci\u0000', scopes: ['auth'] }, 'admin', 'name'],
    [
      'a rule name',
      'PATCH',
      '/v1/admin/systems/payroll',
      { rules: [{ name: 'r\u0000', effect: { deny: true } }] },
      'admin',
      'rules',
    ],
    [
      'a sender name',
      'PATCH',
      '/v1/admin/settings',
      { messages: { senderName: 'Acme\u0000' } },
      'admin',
      'messages',
    ],
    [
      'a subject (a line break)',
      'PATCH',
      '/v1/admin/settings',
      { messages: { templates: { en: { emailPinSubject: 'Code\nBcc: x' } } } },
      'admin',
      'messages',
    ],
    [
      'a template (NUL)',
      'PATCH',
      '/v1/admin/settings',
      { messages: { templates: { en: { smsPin: '{pin}\u0000' } } } },
      'admin',
      'messages',
    ],
  ])(
    'refuses NUL and control characters in %s with 400 naming the field (S30)',
    async (_name, method, path, body, key, field) => {
      const before = await f.acme.audit.list()
      const answer = await call(method, path, body, key as 'auth' | 'admin')
      expect(answer).toMatchObject({ status: 400, body: { result: 'bad request' } })
      expect(answer.body.field).toContain(field)
      expect(answer.body.error).toContain('control characters')
      expect((await f.acme.audit.list()).events).toHaveLength(before.events.length)
    },
  )

  it('lets a message body template break lines, and nothing else', async () => {
    const smsPin = 'Your code:\r\n{pin}'
    expect(
      await call('PATCH', '/v1/admin/settings', { messages: { templates: { en: { smsPin } } } }),
    ).toMatchObject({
      status: 200,
    })
    expect(
      (await call('PATCH', '/v1/admin/settings', { messages: { templates: { en: { smsPin: '{pin}\t' } } } }))
        .status,
    ).toBe(400)
  })

  it('refuses a start context over 4 KiB as JSON with 400 naming context, storing nothing (S35)', async () => {
    // 32 keys of 1000 characters: each within its own limit, ~33 KB in all.
    const context = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]))
    const answer = await call('POST', '/v1/start', { system: 'payroll', authid: 'alice', context }, 'auth')
    expect(answer).toMatchObject({ status: 400, body: { result: 'bad request', field: 'context' } })
    expect(answer.body.error).toContain('4096 bytes')
    expect(f.notifier.messages).toHaveLength(0)
  })

  it.each([
    ['GET', '/v1/admin/users/al%00ice'],
    ['PATCH', '/v1/admin/systems/pay%0Droll'],
    ['DELETE', '/v1/admin/keys/%00'],
    ['GET', '/v1/admin/users?after=%00'],
    ['GET', '/v1/admin/audit?system=%00'],
    ['GET', '/v1/admin/audit?authid=a%0A'],
    ['GET', '/v1/admin/audit?type=%00&format=csv'],
  ])('refuses a control character in a path or query value with 400: %s %s', async (method, path) => {
    const answer = await call(method, path, method === 'PATCH' ? {} : undefined)
    expect(answer).toMatchObject({ status: 400, body: { result: 'bad request' } })
    expect(answer.body.error).toContain('control characters')
  })
})

/** Runs `body` on a fresh fixture on SQLite, then closes it: for what no database changes. */
async function onSqlite(body: (f: HandlerFixture) => Promise<void>): Promise<void> {
  const f = await handlerFixture(sqliteStorage({ filename: ':memory:' }))
  try {
    await body(f)
  } finally {
    await f.close()
  }
}

describe('the audit CSV export is inert (S36)', () => {
  it.each([
    ['=HYPERLINK("http://evil.example/","x")', `"'=HYPERLINK(""http://evil.example/"",""x"")"`],
    ['+1+cmd', "'+1+cmd"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['alice', 'alice'],
    [42, '42'],
    [null, ''],
  ])('writes %j as %s', (value, cell) => {
    expect(csvCell(value)).toBe(cell)
  })

  it('prefixes a formula an unauthenticated caller put in the trail', async () => {
    await onSqlite(async (f) => {
      const authid = '=HYPERLINK("http://evil.example/","click")'
      await f.handler(
        new Request(`${BASE}/v1/start`, {
          method: 'POST',
          headers: { apikey: f.keys.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ system: 'payroll', authid }),
        }),
      )
      const csv = await (
        await f.handler(
          new Request(`${BASE}/v1/admin/audit?format=csv&type=challenge.started`, {
            headers: { apikey: f.keys.admin },
          }),
        )
      ).text()
      const [header, row] = csv.trim().split('\n') as [string, string]
      expect(header).toContain('authid')
      expect(row).toContain(`,"'=HYPERLINK(""http://evil.example/"",""click"")",`)
      expect(row).not.toMatch(/(^|,)"?=/)
    })
  })
})

describe('links come from the configured base URL only (S13)', () => {
  it('ignores Host and X-Forwarded-* on start', async () => {
    await onSqlite(async (f) => {
      await f.acme.users.assign('alice', [{ system: 'payroll', method: 'passwordless' }])
      const response = await f.handler(
        new Request('https://evil.example/v1/start', {
          method: 'POST',
          headers: {
            apikey: f.keys.auth,
            'content-type': 'application/json',
            host: 'evil.example',
            'x-forwarded-host': 'evil.example',
            'x-forwarded-proto': 'http',
            forwarded: 'host=evil.example;proto=http',
          },
          body: JSON.stringify({ system: 'payroll', authid: 'alice' }),
        }),
      )
      expect(response.status).toBe(200)
      expect(f.notifier.last().link).toMatch(/^https:\/\/auth\.example\.com\/v1\/links\/[A-Za-z0-9_-]{32}$/)
      expect(f.notifier.last().text).not.toContain('evil.example')
    })
  })
})

describe('keys come from the apikey header only (S22)', () => {
  it('refuses a key in the query string or in a cookie, even a good one', async () => {
    await onSqlite(async (f) => {
      const body = JSON.stringify({ system: 'payroll', authid: 'alice' })
      for (const [where, init] of [
        [`?apikey=${f.keys.auth}`, { headers: { 'content-type': 'application/json' } }],
        ['', { headers: { 'content-type': 'application/json', cookie: `apikey=${f.keys.auth}` } }],
        ['', { headers: { 'content-type': 'application/json', authorization: `Bearer ${f.keys.auth}` } }],
      ] as const) {
        const response = await f.handler(
          new Request(`${BASE}/v1/start${where}`, { method: 'POST', body, ...init }),
        )
        expect([response.status, await response.json()]).toEqual([
          403,
          {
            result: 'security error',
            reason: 'invalid_key',
            error: expect.stringContaining('no apikey header'),
          },
        ])
      }
      expect(f.notifier.messages).toHaveLength(0)
    })
  })
})

import {
  type AccountSettingsInput,
  type AssignmentInput,
  type Engine,
  SCOPES,
  type Scope,
  type UserChanges,
} from '@flexsecure/core'
import { type CommandLine, UsageError } from './cli-args.js'

/** What a command prints: the value for `--json`, the lines for a person. */
export type Print = (value: unknown, lines: string | readonly string[]) => void

/** A failure that is not bad usage: exit code 1, one line. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed'
}

const parseJson = (option: string, text: string | undefined): unknown => {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw new UsageError(`--${option} must be JSON`)
  }
}

const one = (line: CommandLine, what: string): string => {
  const value = line.positionals[1]
  if (value === undefined) throw new UsageError(`${line.command} ${line.positionals[0]} needs ${what}`)
  return value
}

/** `--account`, or the only account there is. */
export async function pickAccount(engine: Engine, given: string | undefined): Promise<string> {
  if (given) {
    if (!(await engine.accounts.get(given))) throw new CommandFailed(`no account ${given}`)
    return given
  }
  const accounts = await engine.accounts.list()
  if (accounts.length === 1) return (accounts[0] as { id: string }).id
  throw new UsageError(
    accounts.length === 0 ? 'no account yet: run `flexsecure init`' : 'several accounts: pass --account ID',
  )
}

/** accounts list|create|show */
export async function accountsCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const sub = line.positionals[0]
  if (sub === 'list') {
    const accounts = await engine.accounts.list()
    print(
      accounts,
      accounts.map((a) => `${a.id}\t${a.name}\t${a.createdAt.toISOString()}`),
    )
    return 0
  }
  if (sub === 'create') {
    if (!line.options.name) throw new UsageError('accounts create needs --name')
    const account = await engine.accounts.create({ name: line.options.name })
    const admin = await engine
      .account(account.id, { actor: 'cli' })
      .apiKeys.create({ name: 'first admin key', scopes: ['admin', 'auth'] })
    print({ ...account, adminKey: admin.key, adminKeyId: admin.id }, [
      `account ${account.name}: ${account.id}`,
      `admin key: ${admin.key}`,
      'This key is shown once.',
    ])
    return 0
  }
  if (sub === 'show') {
    const account = await engine.accounts.get(one(line, 'an account id'))
    if (!account) throw new CommandFailed(`no account ${line.positionals[1]}`)
    const settings = await engine.account(account.id).settings.get()
    print({ ...account, settings }, [`${account.id}\t${account.name}`, JSON.stringify(settings, null, 2)])
    return 0
  }
  throw new UsageError('accounts takes list, create or show')
}

/** systems list|show|create|update, in the chosen account. */
export async function systemsCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const account = engine.account(await pickAccount(engine, line.options.account), { actor: 'cli' })
  const sub = line.positionals[0]
  if (sub === 'list') {
    const systems = await account.systems.list()
    print(
      systems,
      systems.map((s) => `${s.name}\t${s.sensitivity}\t${JSON.stringify(s.policies)}`),
    )
    return 0
  }
  if (sub === 'show') {
    const system = await account.systems.get(one(line, 'a system name'))
    if (!system) throw new CommandFailed(`no system ${line.positionals[1]}`)
    print(system, JSON.stringify(system, null, 2))
    return 0
  }
  const changes = {
    ...(line.options.policies ? { policies: parseJson('policies', line.options.policies) } : {}),
    ...(line.options.sensitivity ? { sensitivity: line.options.sensitivity } : {}),
    ...(line.options.rules ? { rules: parseJson('rules', line.options.rules) } : {}),
    ...(line.options.messages ? { messages: parseJson('messages', line.options.messages) } : {}),
  } as Record<string, never>
  if (sub === 'create') {
    const system = await account.systems.create({ name: one(line, 'a system name'), ...changes })
    print(system, `created system ${system.name}`)
    return 0
  }
  if (sub === 'update') {
    const system = await account.systems.update(one(line, 'a system name'), changes)
    print(system, `updated system ${system.name}`)
    return 0
  }
  throw new UsageError('systems takes list, show, create or update')
}

/** users list|show|create|update|unlock|remove, in the chosen account. */
export async function usersCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const account = engine.account(await pickAccount(engine, line.options.account), { actor: 'cli' })
  const sub = line.positionals[0]
  if (sub === 'list') {
    const limit = line.options.limit ? Number(line.options.limit) : undefined
    if (limit !== undefined && !Number.isInteger(limit))
      throw new UsageError('--limit must be a whole number')
    const page = await account.users.list({
      ...(line.options.after ? { after: line.options.after } : {}),
      ...(limit ? { limit } : {}),
    })
    print(page, [
      ...page.users.map((u) => `${u.authid}\t${u.status}\t${u.email ?? '-'}\t${u.phone ?? '-'}`),
      ...(page.next ? [`(more: --after ${page.next})`] : []),
    ])
    return 0
  }
  const authid = one(line, 'an authid')
  if (sub === 'show') {
    const user = await account.users.get(authid)
    if (!user) throw new CommandFailed(`no user ${authid}`)
    print({ ...user, assignments: await account.users.assignments(authid) }, JSON.stringify(user, null, 2))
    return 0
  }
  const field = (option: string) =>
    line.options[option] === undefined ? undefined : line.options[option] === '' ? null : line.options[option]
  const changes: UserChanges = Object.fromEntries(
    [
      ['email', field('email')],
      ['phone', field('phone')],
      ['displayName', field('display-name')],
      ['locale', field('locale')],
    ].filter(([, value]) => value !== undefined),
  )
  if (sub === 'create') {
    const user = await account.users.create({ authid, ...changes })
    print(user, `created user ${user.authid}`)
    return 0
  }
  if (sub === 'update') {
    const user = await account.users.update(authid, changes)
    print(user, `updated user ${user.authid}`)
    return 0
  }
  if (sub === 'unlock') {
    const { wasLocked } = await account.users.unlock(authid)
    print({ authid, wasLocked }, wasLocked ? `unlocked ${authid}` : `${authid} was not locked`)
    return 0
  }
  if (sub === 'remove') {
    await account.users.remove(authid)
    print({ authid, removed: true }, `removed ${authid}`)
    return 0
  }
  throw new UsageError('users takes list, show, create, update, unlock or remove')
}

/** assign AUTHID SYSTEM:METHOD[:CHANNEL] … */
export async function assignCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const account = engine.account(await pickAccount(engine, line.options.account), { actor: 'cli' })
  const [authid, ...grants] = line.positionals
  if (!authid || grants.length === 0)
    throw new UsageError('assign needs an authid and at least one SYSTEM:METHOD')
  const assignments = grants.map((grant): AssignmentInput => {
    const [system, method, channel] = grant.split(':')
    if (!system || !method) throw new UsageError(`${grant}: write SYSTEM:METHOD or SYSTEM:METHOD:CHANNEL`)
    return { system, method, ...(channel ? { channel } : {}) } as AssignmentInput
  })
  const done = await account.users.assign(authid, assignments)
  print(
    done,
    done.map((a) => `${authid}\t${a.system}\t${a.method}${a.channel ? `\t${a.channel}` : ''}`),
  )
  return 0
}

/** keys create|list|revoke, in the chosen account. */
export async function keysCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const account = engine.account(await pickAccount(engine, line.options.account), { actor: 'cli' })
  const sub = line.positionals[0]
  if (sub === 'create') {
    if (!line.options.name) throw new UsageError('keys create needs --name')
    const scopes = (line.options.scopes ?? 'auth').split(',').map((s) => s.trim())
    if (scopes.some((s) => !SCOPES.includes(s as Scope)))
      throw new UsageError(`--scopes takes ${SCOPES.join(',')}`)
    const created = await account.apiKeys.create({ name: line.options.name, scopes: scopes as Scope[] })
    print(created, `${created.key}\n(id ${created.id}; shown once)`)
    return 0
  }
  if (sub === 'list') {
    const keys = await account.apiKeys.list()
    print(
      keys,
      keys.map((key) =>
        [
          key.id,
          key.prefix,
          key.name,
          key.scopes.join(','),
          key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'live',
          key.lastUsedAt ? `used ${key.lastUsedAt.toISOString()}` : 'never used',
        ].join('\t'),
      ),
    )
    return 0
  }
  if (sub === 'revoke') {
    const id = line.options.id ?? line.positionals[1]
    if (!id) throw new UsageError('keys revoke needs a key id')
    const revoked = await account.apiKeys.revoke(id)
    print({ id, revoked }, revoked ? `revoked ${id}` : `no live key ${id}`)
    return revoked ? 0 : 1
  }
  throw new UsageError('keys takes create, list or revoke')
}

/** audit verify|list */
export async function auditCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const sub = line.positionals[0]
  if (sub === 'verify') {
    const ids = line.options.account
      ? [line.options.account]
      : (await engine.accounts.list()).map((a) => a.id)
    const verdicts = await Promise.all(
      ids.map(async (id) => ({ account: id, ...(await engine.account(id).audit.verify()) })),
    )
    print(
      verdicts,
      verdicts.map((v) =>
        v.ok
          ? `${v.account}: ok, ${v.events} events up to #${v.lastSeq}`
          : `${v.account}: BROKEN at #${v.firstBadSeq}: ${v.problem}`,
      ),
    )
    return verdicts.every((v) => v.ok) ? 0 : 1
  }
  if (sub === 'checkpoint') {
    const written = await engine.writeCheckpoints()
    print({ written }, `${written} audit checkpoints written (accounts whose trail moved).`)
    return 0
  }
  if (sub === 'list') {
    const account = engine.account(await pickAccount(engine, line.options.account))
    const since = line.options.since ? new Date(line.options.since) : undefined
    if (since && Number.isNaN(since.getTime()))
      throw new UsageError('--since must be an ISO time, 2026-01-31T12:00:00Z')
    const limit = line.options.limit ? Number(line.options.limit) : 100
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number')
    const { events, next } = await account.audit.list({
      ...(since ? { since } : {}),
      ...(line.options.system ? { system: line.options.system } : {}),
      ...(line.options.authid ? { authid: line.options.authid } : {}),
      ...(line.options.type ? { type: line.options.type } : {}),
      limit,
    })
    print(
      { events, next },
      events.map((e) =>
        [
          e.seq,
          new Date(e.at).toISOString(),
          e.type,
          e.system ?? '-',
          e.authid ?? '-',
          e.outcome ?? '-',
          e.reason ?? '',
        ].join('\t'),
      ),
    )
    return 0
  }
  throw new UsageError('audit takes verify or list')
}

/** settings show|set JSON, in the chosen account. */
export async function settingsCommand(engine: Engine, line: CommandLine, print: Print): Promise<number> {
  const account = engine.account(await pickAccount(engine, line.options.account), { actor: 'cli' })
  const sub = line.positionals[0]
  if (sub === 'show') {
    const settings = await account.settings.get()
    print(settings, JSON.stringify(settings, null, 2))
    return 0
  }
  if (sub === 'set') {
    const input = parseJson('settings', line.positionals[1])
    if (typeof input !== 'object' || input === null) throw new UsageError('settings set needs a JSON object')
    const settings = await account.settings.update(input as AccountSettingsInput)
    print(settings, JSON.stringify(settings, null, 2))
    return 0
  }
  throw new UsageError('settings takes show or set')
}

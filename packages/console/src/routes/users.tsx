import {
  type AssignmentInput,
  CONSOLE_ROLE_ATTRIBUTE,
  CONSOLE_SYSTEM,
  type ConsoleRole,
  consoleRoleOf,
  NotFoundError,
  type User,
  type UserSearchField,
  type UserStatus,
} from '@flexsecure/core'
import type { Hono } from 'hono'
import {
  attempt,
  type ConsoleContext,
  type ConsoleEnv,
  type ConsoleKit,
  type Form,
  parseKeyValues,
} from '../console-context.js'
import { ErrorSummary, Field, type FieldError, PostButton, Select, TableRegion } from '../views/controls.js'
import { creationPage } from '../views/creation-page.js'
import { Csrf, Layout, When } from '../views/layout.js'
import { AssignForm, AssignmentTable, UserForm } from '../views/user-forms.js'
import { NOTICES } from './overview.js'

// Users: search with server-side paging (users.search: a range scan per page, fast at 100,000 users),
// a new user, and one user's page with every assigned system and its method, assignments several at
// once, a method switch in one action, unlock, the memorized PIN, console access and removal.

const BY: readonly (readonly [UserSearchField, string])[] = [
  ['authid', 'User id'],
  ['displayName', 'Name'],
  ['email', 'Email'],
  ['phone', 'Phone'],
]
const STATUS: readonly (readonly [string, string])[] = [
  ['', 'Any status'],
  ['active', 'Active'],
  ['disabled', 'Disabled'],
  ['locked', 'Locked'],
]

/** The user fields of the form, the console role kept as it is (it changes only under Console access). */
function userChanges(form: Form, current: User | null) {
  const text = (name: string) => {
    const value = (form.get(name) ?? '').trim()
    return value === '' ? null : value
  }
  const { [CONSOLE_ROLE_ATTRIBUTE]: _typed, ...attributes } = parseKeyValues(
    form.get('attributes'),
    'attributes',
  )
  const role = current?.attributes[CONSOLE_ROLE_ATTRIBUTE]
  return {
    displayName: text('displayName'),
    email: text('email'),
    phone: text('phone'),
    locale: text('locale'),
    attributes: role === undefined ? attributes : { ...attributes, [CONSOLE_ROLE_ATTRIBUTE]: role },
    ...(current?.status === 'locked'
      ? {}
      : { status: (form.get('status') === 'disabled' ? 'disabled' : 'active') as 'active' | 'disabled' }),
  }
}

/** Users: search, create, a user's page and its actions. */
export function userRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  const pathOf = (authid: string) => `${base}/users/${encodeURIComponent(authid)}`
  const admin = (c: ConsoleContext) => c.var.session?.role === 'admin'
  const load = async (c: ConsoleContext) => {
    const user = await c.var.account.users.get(c.req.param('authid') ?? '')
    if (!user) throw new NotFoundError('user', c.req.param('authid') ?? '')
    return user
  }

  app.get(`${base}/users`, async (c) => {
    const query = c.req.query('query') ?? ''
    const by = (
      BY.some(([value]) => value === c.req.query('by')) ? c.req.query('by') : 'authid'
    ) as UserSearchField
    const status = STATUS.some(([value]) => value && value === c.req.query('status'))
      ? (c.req.query('status') as UserStatus)
      : undefined
    const after = c.req.query('after')
    const found = await attempt(() =>
      c.var.account.users.search({
        query,
        by,
        ...(status ? { status } : {}),
        ...(after ? { after } : {}),
        limit: 50,
      }),
    )
    const page = found.ok ? found.value : { users: [], next: null }
    const more = new URLSearchParams({ query, by, ...(status ? { status } : {}), after: page.next ?? '' })
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Users" flash={NOTICES[c.req.query('done') ?? '']}>
        {admin(c) ? (
          <p>
            <a class="button" href={`${base}/users/new`}>
              Create a user
            </a>
          </p>
        ) : null}
        <form method="get" action={`${base}/users`} class="filters">
          <Field
            name="query"
            label="Starts with"
            hint="The start of a user id, name, email or phone, letter case as stored."
            type="search"
            value={query}
          />
          <Select name="by" label="Search in" options={BY} value={by} />
          <Select name="status" label="Status" options={STATUS} value={status ?? ''} />
          <button type="submit" class="secondary">
            Search
          </button>
        </form>
        {found.ok ? null : <ErrorSummary errors={found.errors} />}
        <TableRegion label="Users" class="user-list">
          <thead>
            <tr>
              <th scope="col">User id</th>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Phone</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {page.users.length === 0 ? (
              <tr>
                <td colspan={5}>No users match.</td>
              </tr>
            ) : (
              page.users.map((u) => (
                <tr>
                  <th scope="row">
                    <a href={pathOf(u.authid)}>{u.authid}</a>
                  </th>
                  <td>{u.displayName ?? ''}</td>
                  <td>{u.email ?? ''}</td>
                  <td>{u.phone ?? ''}</td>
                  <td>{u.status}</td>
                </tr>
              ))
            )}
          </tbody>
        </TableRegion>
        <nav aria-label="Pages" class="pager">
          {after ? (
            <a href={`${base}/users?${new URLSearchParams({ query, by, ...(status ? { status } : {}) })}`}>
              First page
            </a>
          ) : null}
          {page.next ? <a href={`${base}/users?${more}`}>Next page</a> : null}
        </nav>
      </Layout>,
    )
  })

  const newPage = (c: ConsoleContext, errors: FieldError[] = []) =>
    creationPage(kit, c, 'Create a user', `${base}/users`, UserForm, errors)
  app.get(`${base}/users/new`, (c) => newPage(c))
  app.post(`${base}/users`, async (c) => {
    const form = await kit.form(c)
    const done = await attempt(async () =>
      c.var.account.users.create({ authid: (form.get('authid') ?? '').trim(), ...userChanges(form, null) }),
    )
    if (!done.ok) return newPage(c, done.errors)
    return kit.redirect(c, pathOf(done.value.authid), 'user-created')
  })

  const userPage = async (
    c: ConsoleContext,
    user: User,
    errors: {
      details?: FieldError[]
      assign?: FieldError[]
      pin?: FieldError[]
      /** A row's switch that was refused: shown in that row. */
      switched?: { readonly system: string; readonly message: string }
    } = {},
  ) => {
    const account = c.var.account
    const [assignments, systems] = await Promise.all([
      account.users.assignments(user.authid),
      account.systems.list(),
    ])
    const csrf = c.var.csrf
    const at = pathOf(user.authid)
    const role = consoleRoleOf(user.attributes)
    const failed = Boolean(errors.details || errors.assign || errors.pin || errors.switched)
    return kit.render(
      c,
      <Layout page={kit.page(c)} title={`User ${user.authid}`} flash={NOTICES[c.req.query('done') ?? '']}>
        <p>
          <a href={`${base}/users`}>All users</a> · status <strong>{user.status}</strong> · created{' '}
          <When at={user.createdAt} /> ·{' '}
          <a href={`${base}/audit?authid=${encodeURIComponent(user.authid)}`}>audit events</a>
        </p>
        <section aria-labelledby="systems">
          <h2 id="systems">Assigned systems</h2>
          <AssignmentTable
            action={`${at}/assign`}
            csrf={csrf}
            assignments={assignments}
            systems={systems}
            admin={admin(c)}
            refused={errors.switched}
          />
          {admin(c) ? (
            <details open={Boolean(errors.assign)}>
              <summary>Assign systems</summary>
              <AssignForm action={`${at}/assign`} csrf={csrf} systems={systems} errors={errors.assign} />
            </details>
          ) : null}
        </section>
        <section aria-labelledby="details">
          <h2 id="details">Details</h2>
          <UserForm
            action={at}
            csrf={csrf}
            user={user}
            errors={errors.details}
            readonly={!admin(c)}
            {...(errors.details ? { values: await kit.form(c) } : {})}
          />
        </section>
        <section aria-labelledby="security">
          <h2 id="security">Security</h2>
          <p>
            Memorized PIN: {user.hasMemorizedPin ? 'set' : 'none'}.{' '}
            {user.status === 'locked' ? 'The user is locked after too many failures.' : ''}
          </p>
          {admin(c) ? (
            <>
              {user.status === 'locked' ? (
                <PostButton action={`${at}/unlock`} label="Unlock" csrf={csrf} />
              ) : null}
              <form method="post" action={`${at}/pin`} class="stack narrow">
                <Csrf token={csrf} />
                <ErrorSummary errors={errors.pin} />
                <Field
                  name="pin"
                  label="New memorized PIN"
                  type="password"
                  inputmode="numeric"
                  autocomplete="new-password"
                  hint="6 to 12 digits; common and patterned PINs are refused."
                  errors={errors.pin}
                />
                <button type="submit">Set the PIN</button>
              </form>
              {user.hasMemorizedPin ? (
                <PostButton
                  action={`${at}/pin/clear`}
                  label="Clear the PIN"
                  csrf={csrf}
                  confirm="Clear this user’s memorized PIN?"
                />
              ) : null}
            </>
          ) : null}
        </section>
        <section aria-labelledby="console-access">
          <h2 id="console-access">Console access</h2>
          <p>Role: {role ?? 'none'}.</p>
          {admin(c) ? (
            <form method="post" action={`${at}/console-role`} class="inline">
              <Csrf token={csrf} />
              <Select
                name="role"
                label="Console role"
                value={role ?? ''}
                options={[
                  ['', 'None'],
                  ['viewer', 'Viewer (read only)'],
                  ['admin', 'Administrator'],
                ]}
                hint={user.email ? undefined : 'Needs an email address: console sign-in goes by email.'}
              />
              <button type="submit" class="secondary">
                Save the role
              </button>
            </form>
          ) : null}
        </section>
        {admin(c) ? (
          <section aria-labelledby="danger">
            <h2 id="danger">Remove</h2>
            <PostButton
              action={`${at}/remove`}
              label="Remove this user"
              csrf={csrf}
              danger
              confirm={`Remove ${user.authid}, their assignments and logins? The audit trail keeps their events.`}
            />
          </section>
        ) : null}
      </Layout>,
      failed ? 400 : 200,
    )
  }

  app.get(`${base}/users/:authid`, async (c) => userPage(c, await load(c)))

  app.post(`${base}/users/:authid`, async (c) => {
    const user = await load(c)
    const form = await kit.form(c)
    const done = await attempt(async () => c.var.account.users.update(user.authid, userChanges(form, user)))
    if (!done.ok) return userPage(c, user, { details: done.errors })
    return kit.redirect(c, pathOf(user.authid), 'user-saved')
  })

  // Several systems at once (checked boxes), or one (a switch): the same call, users.assign.
  app.post(`${base}/users/:authid/assign`, async (c) => {
    const user = await load(c)
    const form = await kit.form(c)
    const single = form.get('method') !== undefined
    const names = single ? [form.get('system') ?? ''] : form.all('system')
    if (names.includes(CONSOLE_SYSTEM)) {
      const fresh = kit.requireFresh(c, pathOf(user.authid))
      if (fresh) return fresh
    }
    const assignments: AssignmentInput[] = names.map((system) => {
      const channel = form.get(single ? 'channel' : `channel:${system}`) || null
      return {
        system,
        method: (form.get(single ? 'method' : `method:${system}`) ?? '') as AssignmentInput['method'],
        channel: channel as AssignmentInput['channel'],
      }
    })
    const done = await attempt(
      () => c.var.account.users.assign(user.authid, assignments),
      (field) => (field.startsWith('assignments') ? 'system' : field),
    )
    // A row's switch is answered in its row; the assign form's refusals above the form.
    if (!done.ok && single)
      return userPage(c, user, {
        switched: {
          system: names[0] ?? '',
          // In its row the engine's field (`assignments[0].channel`) says nothing the row does not.
          message: done.errors[0]?.detail ?? done.errors[0]?.message ?? '',
        },
      })
    if (!done.ok)
      return userPage(c, user, { assign: done.errors.map((e) => ({ field: 'assign', message: e.message })) })
    return kit.redirect(c, pathOf(user.authid), 'assigned')
  })

  app.post(`${base}/users/:authid/unlock`, async (c) => {
    const user = await load(c)
    await c.var.account.users.unlock(user.authid)
    return kit.redirect(c, pathOf(user.authid), 'unlocked')
  })

  app.post(`${base}/users/:authid/pin`, async (c) => {
    const user = await load(c)
    const pin = (await kit.form(c)).get('pin') ?? ''
    const done = await attempt(() => c.var.account.users.setPin(user.authid, pin))
    if (!done.ok)
      return userPage(c, user, { pin: done.errors.map((e) => ({ field: 'pin', message: e.message })) })
    return kit.redirect(c, pathOf(user.authid), 'pin-set')
  })

  app.post(`${base}/users/:authid/pin/clear`, async (c) => {
    const user = await load(c)
    await c.var.account.users.setPin(user.authid, null)
    return kit.redirect(c, pathOf(user.authid), 'pin-cleared')
  })

  // Console roles are security settings: a fresh login first.
  app.post(`${base}/users/:authid/console-role`, async (c) => {
    const user = await load(c)
    const fresh = kit.requireFresh(c, pathOf(user.authid))
    if (fresh) return fresh
    const value = (await kit.form(c)).get('role')
    const role: ConsoleRole | null = value === 'admin' || value === 'viewer' ? value : null
    const done = await attempt(() => c.var.account.console.grant({ authid: user.authid, role }))
    if (!done.ok)
      return userPage(c, user, { details: done.errors.map((e) => ({ field: 'role', message: e.message })) })
    return kit.redirect(c, pathOf(user.authid), 'role-saved')
  })

  app.post(`${base}/users/:authid/remove`, async (c) => {
    const user = await load(c)
    if (consoleRoleOf(user.attributes)) {
      const fresh = kit.requireFresh(c, pathOf(user.authid))
      if (fresh) return fresh
    }
    await c.var.account.users.remove(user.authid)
    return kit.redirect(c, `${base}/users`, 'user-removed')
  })
}

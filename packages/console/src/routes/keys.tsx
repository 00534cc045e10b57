import type { ApiKeyInfo, Scope } from '@flexsecure/core'
import type { Hono } from 'hono'
import { attempt, type ConsoleContext, type ConsoleEnv, type ConsoleKit } from '../console-context.js'
import { sentForms } from '../sent-forms.js'
import { Checkbox, ErrorSummary, Field, type FieldError, PostButton, TableRegion } from '../views/controls.js'
import { Csrf, Layout, When } from '../views/layout.js'
import { NOTICES } from './overview.js'

// API keys: the list (prefix, scopes, last use, expiry), a new key shown once with a copy button, and
// revocation. Creating a key needs a fresh login (S24).

function state(key: ApiKeyInfo, now: number): string {
  if (key.revokedAt) return 'revoked'
  if (key.expiresAt && key.expiresAt.getTime() <= now) return 'expired'
  return 'live'
}

/** The create form's fields as submitted, shown again beside an error. */
interface KeyFormValues {
  readonly name: string
  readonly scopes: readonly string[]
  readonly expiresAt: string
}

export function keyRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  const forms = sentForms(kit.now)

  const keysPage = async (
    c: ConsoleContext,
    extra: {
      created?: ApiKeyInfo & { key: string }
      errors?: FieldError[]
      values?: KeyFormValues
      /** The name of the key this form made when it was first sent. */
      resent?: string
    } = {},
  ) => {
    const values = extra.values
    const scopesError = extra.errors?.find((e) => e.field === 'scopes')?.message
    const keys = await c.var.account.apiKeys.list()
    const admin = c.var.session?.role === 'admin'
    const now = kit.now()
    return kit.render(
      c,
      <Layout
        page={kit.page(c)}
        title="API keys"
        flash={
          extra.resent !== undefined
            ? `This form was sent before: the key “${extra.resent}” was created then, and shown once. No other key was made. If its secret was not copied, revoke it below and create another.`
            : NOTICES[c.req.query('done') ?? '']
        }
      >
        {extra.created ? (
          <section class="created" aria-labelledby="new-key">
            <h2 id="new-key">Your new key “{extra.created.name}”</h2>
            <p>
              <strong>Copy it now: it is shown this once.</strong> Only its hash is kept.
            </p>
            <p class="secret">
              <code id="new-key-value">{extra.created.key}</code>{' '}
              <button type="button" class="secondary" data-copy="new-key-value" hidden>
                Copy the key
              </button>
            </p>
          </section>
        ) : null}
        <TableRegion label="API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              {admin ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr>
                <th scope="row">{key.name}</th>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{key.scopes.join(', ')}</td>
                <td>
                  <When at={key.createdAt} />
                </td>
                <td>
                  <When at={key.lastUsedAt} empty="never" />
                </td>
                <td>
                  <When at={key.expiresAt} empty="never" />
                </td>
                <td>{state(key, now)}</td>
                {admin ? (
                  <td>
                    {key.revokedAt ? null : (
                      <PostButton
                        action={`${base}/keys/revoke`}
                        label="Revoke"
                        describe={`Revoke the key ${key.name}`}
                        csrf={c.var.csrf}
                        fields={{ id: key.id }}
                        danger
                        confirm={`Revoke the key ${key.name}? Requests with it are refused at once.`}
                      />
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </TableRegion>
        {admin ? (
          <section aria-labelledby="create-key">
            <h2 id="create-key">Create a key</h2>
            <p>Needs a sign-in from the last 5 minutes; you may be asked to confirm it is you.</p>
            <form method="post" action={`${base}/keys`} class="stack narrow">
              <Csrf token={c.var.csrf} />
              <input type="hidden" name="_once" value={kit.tokens.visitor()} />
              <ErrorSummary errors={extra.errors} />
              <Field
                name="name"
                label="Name"
                hint="Where it is used, e.g. web back end."
                required
                value={values?.name}
                errors={extra.errors}
              />
              {/* The error summary links here (`#f-scopes`); the message sits under the legend. */}
              <fieldset
                id="f-scopes"
                class={scopesError ? 'invalid' : undefined}
                aria-describedby={scopesError ? 'f-scopes-error' : undefined}
              >
                <legend>Scopes</legend>
                {scopesError ? (
                  <p class="error" id="f-scopes-error">
                    {scopesError}
                  </p>
                ) : null}
                <Checkbox
                  name="scopes"
                  value="auth"
                  id="f-scopes-auth"
                  label="auth: start and check logins"
                  checked={values ? values.scopes.includes('auth') : true}
                />
                <Checkbox
                  name="scopes"
                  value="admin"
                  id="f-scopes-admin"
                  label="admin: manage the account (the admin API)"
                  checked={values?.scopes.includes('admin') ?? false}
                />
              </fieldset>
              <Field
                name="expiresAt"
                label="Expires on (optional, UTC)"
                type="date"
                value={values?.expiresAt}
                errors={extra.errors}
              />
              <button type="submit">Create the key</button>
            </form>
          </section>
        ) : null}
      </Layout>,
      extra.errors ? 400 : extra.resent !== undefined ? 409 : 200,
    )
  }

  app.get(`${base}/keys`, (c) => keysPage(c))

  app.post(`${base}/keys`, async (c) => {
    const fresh = kit.requireFresh(c, `${base}/keys`)
    if (fresh) return fresh
    const form = await kit.form(c)
    const values: KeyFormValues = {
      name: form.get('name') ?? '',
      scopes: form.all('scopes'),
      expiresAt: form.get('expiresAt') ?? '',
    }
    const once = form.get('_once')
    const resent = once ? forms.claim(once, values.name) : null
    if (resent !== null) return keysPage(c, { resent })
    const done = await attempt(() =>
      c.var.account.apiKeys.create({
        name: values.name,
        scopes: values.scopes as Scope[],
        ...(values.expiresAt ? { expiresAt: new Date(`${values.expiresAt}T00:00:00Z`) } : {}),
      }),
    )
    // What was typed comes back with the message beside its field, and the form may be sent again.
    if (!done.ok) {
      if (once) forms.release(once)
      return keysPage(c, { errors: done.errors, values })
    }
    return keysPage(c, { created: done.value })
  })

  app.post(`${base}/keys/revoke`, async (c) => {
    const id = (await kit.form(c)).get('id') ?? ''
    const revoked = await c.var.account.apiKeys.revoke(id)
    return kit.redirect(c, `${base}/keys`, revoked ? 'key-revoked' : 'key-not-revoked')
  })
}

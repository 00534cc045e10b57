import { CONSOLE_SYSTEM, NotFoundError, type Rule, type SimulateResult, type System } from '@flexsecure/core'
import type { Hono } from 'hono'
import {
  attempt,
  type ConsoleContext,
  type ConsoleEnv,
  type ConsoleKit,
  FormError,
} from '../console-context.js'
import { contextFromText, parseJson, ruleFromForm, systemChanges } from '../system-form.js'
import { type FieldError, TableRegion, TextArea } from '../views/controls.js'
import { creationPage } from '../views/creation-page.js'
import { Csrf, Layout, When } from '../views/layout.js'
import { PolicyForm, RuleForm, RuleList, TryIt } from '../views/system-forms.js'
import { NOTICES } from './overview.js'

// Systems: the list, a new system, and one system's policy, ordered rules and "try it" panel. Changes
// to the console's own system are security settings: they need a fresh login.

/** `rules[3].when.ipIn[1]` → `when.ipIn`: errors of the rule being added, named as its form's controls. */
const ruleField = (field: string) =>
  field
    .replace(/^rules\[\d+\]\./, '')
    .replace(/(\[\d+\])+$/, '')
    .replace(/^when\.time(Not)?In\./, 'time.')
    .replace(/^when\.time(Not)?In$/, 'when.time')
const systemField = (field: string) =>
  field.startsWith('rules')
    ? 'rules'
    : field.startsWith('messages')
      ? 'messages'
      : // `policies.passwordless.returnUrls[1]` names a line of the one text area.
        field.replace(/^(policies\.passwordless\.returnUrls)\[\d+\]$/, '$1')

/** Systems: list, create, policy, rules, "try it". */
export function systemRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base } = kit
  const pathOf = (name: string) => `${base}/systems/${encodeURIComponent(name)}`
  const admin = (c: ConsoleContext) => c.var.session?.role === 'admin'
  const load = async (c: ConsoleContext) => {
    const system = await c.var.account.systems.get(c.req.param('name') ?? '')
    if (!system) throw new NotFoundError('system', c.req.param('name') ?? '')
    return system
  }
  /** The console's own system is a security setting: changing it needs a fresh login. */
  const guard = (c: ConsoleContext, name: string) =>
    name === CONSOLE_SYSTEM ? kit.requireFresh(c, pathOf(name)) : null

  app.get(`${base}/systems`, async (c) => {
    const systems = await c.var.account.systems.list()
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Systems" flash={NOTICES[c.req.query('done') ?? '']}>
        <p>
          A system is anything users sign in to. Its policy says which methods it enables and how strict they
          are.
        </p>
        {admin(c) ? (
          <p>
            <a class="button" href={`${base}/systems/new`}>
              Create a system
            </a>
          </p>
        ) : null}
        <TableRegion label="Systems">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Sensitivity</th>
              <th scope="col">Magic link</th>
              <th scope="col">One-time PIN</th>
              <th scope="col">Rules</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {systems.length === 0 ? (
              <tr>
                <td colspan={6}>No systems yet.</td>
              </tr>
            ) : (
              systems.map((s) => (
                <tr>
                  <th scope="row">
                    <a href={pathOf(s.name)}>{s.name}</a>
                  </th>
                  <td>{s.sensitivity}</td>
                  <td>
                    {s.policies.passwordless.enabled
                      ? `on · ${s.policies.passwordless.channels.join(', ')}`
                      : 'off'}
                  </td>
                  <td>
                    {s.policies.pin.enabled
                      ? `on · ${s.policies.pin.pinLength} digits · ${s.policies.pin.channels.join(', ')}`
                      : 'off'}
                  </td>
                  <td>{String(s.rules.length)}</td>
                  <td>
                    <When at={s.updatedAt} />
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </TableRegion>
      </Layout>,
    )
  })

  const newPage = (c: ConsoleContext, errors: FieldError[] = []) =>
    creationPage(kit, c, 'Create a system', `${base}/systems`, PolicyForm, errors)
  app.get(`${base}/systems/new`, (c) => newPage(c))
  app.post(`${base}/systems`, async (c) => {
    const form = await kit.form(c)
    const name = (form.get('name') ?? '').trim()
    const done = await attempt(
      () => c.var.account.systems.create({ name, ...systemChanges(form) }),
      systemField,
    )
    if (!done.ok) return newPage(c, done.errors)
    return kit.redirect(c, pathOf(done.value.name), 'system-created')
  })

  const systemPage = async (
    c: ConsoleContext,
    system: System,
    errors: { policy?: FieldError[]; rules?: FieldError[]; rule?: FieldError[] } = {},
    rulesText?: string,
  ) => {
    const account = c.var.account
    const tryAuthid = c.req.query('try')
    let result: SimulateResult | null = null
    let tryError: string | null = null
    if (tryAuthid) {
      const ran = await attempt(() =>
        account.simulate({
          system: system.name,
          authid: tryAuthid,
          context: contextFromText(c.req.query('context')),
        }),
      )
      if (ran.ok) result = ran.value
      else tryError = ran.errors.map((e) => e.message).join('; ')
    }
    const status = errors.policy || errors.rules || errors.rule ? 400 : 200
    const csrf = c.var.csrf
    // A change to the rules lands at #rules: its notice is shown there, where the page scrolls to.
    const done = c.req.query('done') ?? ''
    const rulesNotice = done === 'rules-saved' || done === 'rules-changed' ? NOTICES[done] : undefined
    return kit.render(
      c,
      <Layout page={kit.page(c)} title={`System ${system.name}`} flash={rulesNotice ? null : NOTICES[done]}>
        <p>
          <a href={`${base}/systems`}>All systems</a> · version {system.rulesVersion} of the rules · changed{' '}
          <When at={system.updatedAt} />
        </p>
        <section aria-labelledby="policy">
          <h2 id="policy">Policy</h2>
          <PolicyForm
            action={pathOf(system.name)}
            csrf={csrf}
            system={system}
            errors={errors.policy}
            readonly={!admin(c)}
            {...(errors.policy ? { values: await kit.form(c) } : {})}
          />
        </section>
        <section aria-labelledby="rules">
          <h2 id="rules">Rules</h2>
          {rulesNotice ? (
            <p class="flash" role="status">
              {rulesNotice}
            </p>
          ) : null}
          <p>
            Rules run in order on every start; each can only tighten what the login gets. Every matching rule
            applies.
          </p>
          <RuleList base={base} system={system} csrf={csrf} admin={admin(c)} />
          {admin(c) ? (
            <>
              <details open={Boolean(errors.rule)}>
                <summary>Add a rule</summary>
                <RuleForm
                  action={`${pathOf(system.name)}/rules/add`}
                  csrf={csrf}
                  errors={errors.rule}
                  {...(errors.rule ? { values: await kit.form(c) } : {})}
                />
              </details>
              <details open={Boolean(errors.rules)}>
                <summary>Edit all rules as JSON</summary>
                <form method="post" action={`${pathOf(system.name)}/rules`} class="stack">
                  <Csrf token={csrf} />
                  <TextArea
                    name="rules"
                    label="Rules (a JSON list, in order)"
                    value={rulesText ?? JSON.stringify(system.rules, null, 2)}
                    rows={12}
                    errors={errors.rules}
                  />
                  <button type="submit">Save the rules</button>
                </form>
              </details>
            </>
          ) : null}
        </section>
        <section aria-labelledby="try-it">
          <h2 id="try-it">Try it</h2>
          <p>What a start would decide for this user and context. Nothing is sent, nothing changes.</p>
          <TryIt
            action={`${pathOf(system.name)}#try-it`}
            authid={tryAuthid ?? ''}
            context={c.req.query('context') ?? ''}
            result={result}
            error={tryError}
          />
        </section>
      </Layout>,
      status,
    )
  }

  app.get(`${base}/systems/:name`, async (c) => systemPage(c, await load(c)))

  app.post(`${base}/systems/:name`, async (c) => {
    const system = await load(c)
    const fresh = guard(c, system.name)
    if (fresh) return fresh
    const form = await kit.form(c)
    const done = await attempt(
      () => c.var.account.systems.update(system.name, systemChanges(form)),
      systemField,
    )
    if (!done.ok) return systemPage(c, system, { policy: done.errors })
    return kit.redirect(c, pathOf(system.name), 'system-saved')
  })

  /** Saves a new list of rules; a refused list is shown again with the error beside it. */
  const saveRules = async (
    c: ConsoleContext,
    system: System,
    rules: unknown,
    where: 'rules' | 'rule',
    text?: string,
  ) => {
    const done = await attempt(
      () => c.var.account.systems.update(system.name, { rules: rules as System['rules'] }),
      where === 'rule' ? ruleField : () => 'rules',
    )
    if (!done.ok) return systemPage(c, system, { [where]: done.errors }, text)
    return kit.redirect(c, `${pathOf(system.name)}#rules`, 'rules-saved')
  }

  app.post(`${base}/systems/:name/rules`, async (c) => {
    const system = await load(c)
    const fresh = guard(c, system.name)
    if (fresh) return fresh
    const text = (await kit.form(c)).get('rules') ?? '[]'
    let rules: unknown
    try {
      rules = parseJson(text, 'rules')
    } catch (error) {
      if (error instanceof FormError) return systemPage(c, system, { rules: [...error.errors] }, text)
      throw error
    }
    return saveRules(c, system, rules, 'rules', text)
  })

  app.post(`${base}/systems/:name/rules/add`, async (c) => {
    const system = await load(c)
    const fresh = guard(c, system.name)
    if (fresh) return fresh
    const built = await attempt(async () => ruleFromForm(await kit.form(c)))
    if (!built.ok) return systemPage(c, system, { rule: built.errors })
    return saveRules(c, system, [...system.rules, built.value], 'rule')
  })

  // Up, Down and Remove name the rule, not its place: a page loaded before another change (a second
  // tab) must not move or remove the rule that has since taken that place.
  app.post(`${base}/systems/:name/rules/move`, async (c) => {
    const system = await load(c)
    const fresh = guard(c, system.name)
    if (fresh) return fresh
    const form = await kit.form(c)
    const from = system.rules.findIndex((rule) => rule.name === form.get('rule'))
    const to = from + (form.get('direction') === 'up' ? -1 : 1)
    if (from < 0 || !system.rules[to]) return kit.redirect(c, `${pathOf(system.name)}#rules`, 'rules-changed')
    const rules = [...system.rules]
    const [moved] = rules.splice(from, 1)
    rules.splice(to, 0, moved as Rule)
    return saveRules(c, system, rules, 'rules')
  })

  app.post(`${base}/systems/:name/rules/remove`, async (c) => {
    const system = await load(c)
    const fresh = guard(c, system.name)
    if (fresh) return fresh
    const name = (await kit.form(c)).get('rule')
    if (!system.rules.some((rule) => rule.name === name))
      return kit.redirect(c, `${pathOf(system.name)}#rules`, 'rules-changed')
    return saveRules(
      c,
      system,
      system.rules.filter((rule) => rule.name !== name),
      'rules',
    )
  })
}

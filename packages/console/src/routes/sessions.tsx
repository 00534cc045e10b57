import { CONSOLE_SYSTEM } from '@flexsecure/core'
import type { Hono } from 'hono'
import type { ConsoleEnv, ConsoleKit } from '../console-context.js'
import { dropCookie, type PendingSignIn, putCookie } from '../console-cookies.js'
import { PostButton, TableRegion } from '../views/controls.js'
import { Csrf, Layout, When } from '../views/layout.js'
import { NOTICES } from './overview.js'
import { consolePath, pendingSignIns } from './sign-in.js'

// The administrator's own sessions (each can be revoked), sign-out, and the confirmation that asks for
// a new login before API keys are created or security settings change (S24).

/** Your sessions, sign-out, and the fresh-login confirmation. */
export function sessionRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base, cookies, sessions, tokens } = kit
  const { askedLately } = pendingSignIns(kit)

  app.get(`${base}/sessions`, async (c) => {
    const token = c.var.token as string
    const list = await sessions.list(token)
    const current = c.var.session?.id
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Your sessions" flash={NOTICES[c.req.query('done') ?? '']}>
        <p>
          Where you are signed in to the console. A session ends after 30 minutes without use, 12 hours after
          sign-in, or when you revoke it.
        </p>
        <TableRegion label="Your sessions">
          <thead>
            <tr>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col">Ends</th>
              <th scope="col">From</th>
              <th scope="col">Browser</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr>
                <td>
                  <When at={s.createdAt} />
                  {s.id === current ? <strong> (this session)</strong> : null}
                </td>
                <td>
                  <When at={s.lastSeenAt} />
                </td>
                <td>
                  <When at={s.expiresAt} />
                </td>
                <td>{s.ip ?? ''}</td>
                <td class="details">{s.userAgent ?? ''}</td>
                <td>
                  <PostButton
                    action={`${base}/sessions/revoke`}
                    label={s.id === current ? 'Sign out' : 'Revoke'}
                    describe={
                      s.id === current
                        ? 'Sign out of this session'
                        : `Revoke the session from ${s.ip ?? 'an unknown address'}`
                    }
                    csrf={c.var.csrf}
                    fields={{ id: s.id }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      </Layout>,
    )
  })

  app.post(`${base}/sessions/revoke`, async (c) => {
    const id = (await kit.form(c)).get('id') ?? ''
    const token = c.var.token as string
    const own = c.var.session?.id === id
    await sessions.revoke(token, id)
    if (own) {
      dropCookie(c, cookies, cookies.session)
      return kit.redirect(c, `${base}/sign-in`)
    }
    return kit.redirect(c, `${base}/sessions`, 'session-revoked')
  })

  app.post(`${base}/sign-out`, async (c) => {
    await sessions.signOut(c.var.token as string)
    dropCookie(c, cookies, cookies.session)
    return kit.redirect(c, `${base}/sign-in`)
  })

  app.get(`${base}/confirm`, (c) => {
    const next = consolePath(base, c.req.query('next')) ?? `${base}/`
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Confirm it’s you">
        <p>
          Creating API keys and changing security settings need a sign-in from the last 5 minutes. We will
          send a new sign-in link to {c.var.session?.authid}; then come back and do it again.
        </p>
        <form method="post" action={`${base}/confirm`} class="stack narrow">
          <Csrf token={c.var.csrf} />
          <input type="hidden" name="next" value={next} />
          <button type="submit">Send me a sign-in link</button>
        </form>
      </Layout>,
    )
  })

  app.post(`${base}/confirm`, async (c) => {
    const session = c.var.session
    if (!session) return kit.redirect(c, `${base}/sign-in`)
    const next = consolePath(base, (await kit.form(c)).get('next')) ?? `${base}/`
    // Asked again within the resend cooldown (Back, then the button again): the first link is on its
    // way, and a second start would be refused with a code no message carries.
    if (await askedLately(c, session.accountId, session.authid, session.id))
      return kit.redirect(c, `${base}/sign-in/wait`)
    const ip = kit.clientAddress(c)
    const started = await kit.engine.account(session.accountId, { actor: 'console' }).start({
      system: CONSOLE_SYSTEM,
      authid: session.authid,
      ...(ip ? { context: { ip } } : {}),
    })
    const ok = started.result === 'success' && started.challengeId ? started : null
    const pending: PendingSignIn = {
      accountId: session.accountId,
      authid: session.authid,
      challengeId: ok?.challengeId ?? null,
      method: ok?.method ?? null,
      matchCode: ok?.matchCode ?? null,
      expiresAt: ok?.expiresAt.getTime() ?? kit.now() + 600_000,
      reauth: session.id,
      next: `${next}${next.includes('?') ? '&' : '?'}done=confirmed`,
      startedAt: kit.now(),
    }
    putCookie(c, cookies, cookies.signIn, tokens.sign(pending), 600)
    return kit.redirect(c, `${base}/sign-in/wait`)
  })
}

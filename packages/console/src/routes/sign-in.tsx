import { randomInt } from 'node:crypto'
import { type CheckResult, CONSOLE_SYSTEM, NotFoundError, ValidationError } from '@flexsecure/core'
import type { Hono } from 'hono'
import type { ConsoleContext, ConsoleEnv, ConsoleKit } from '../console-context.js'
import { dropCookie, type PendingSignIn, putCookie, readCookie } from '../console-cookies.js'
import { ErrorSummary, Field, type FieldError } from '../views/controls.js'
import { Layout } from '../views/layout.js'

// Administrators sign in with FlexSecure itself (S24): `start` on the account's console system sends
// a link (or a PIN) by email, with number matching on; this browser then polls `check` for its own
// challenge, and on `authenticated` the engine opens a server-side session. The first page answers
// the same whatever the address, so it tells nobody who the administrators are.

const TEN_MINUTES = 600_000
type SignInState = 'pending' | 'done' | 'expired' | 'failed' | 'wrong_pin' | 'not_admin'

/** A console path to return to after signing in, or null: never another origin. */
export function consolePath(base: string, value: string | undefined | null): string | null {
  if (!value || value.length > 1000 || !value.startsWith(`${base}/`) || value.startsWith(`${base}//`))
    return null
  return /^[\w\-./%~?=&#:+,]*$/.test(value) && !value.includes('..') ? value : null
}

/** This browser's sign-in under way (its cookie), and whether it asked again within the resend cooldown. */
export function pendingSignIns(kit: ConsoleKit) {
  const { cookies, tokens, engine } = kit
  const pendingOf = (c: ConsoleContext) => {
    const value = readCookie(c, cookies.signIn)
    const pending = tokens.open(value, kit.now())
    return pending && value ? { pending, formToken: tokens.form(`s:${value}`) } : null
  }

  /**
   * Whether this browser asked to sign in as `authid` (to confirm session `reauth`, or to sign in when
   * null) within the account's resend cooldown. A second start then would be refused (S18) and, looking
   * like a link sent, show a new code no message carries; the waiting page of the first, whose message is
   * on its way, is the one to show again. It reads only this browser's own cookie, so it answers alike for
   * an administrator and for anyone else.
   */
  const askedLately = async (
    c: ConsoleContext,
    accountId: string,
    authid: string,
    reauth: string | null = null,
  ) => {
    const earlier = pendingOf(c)?.pending
    if (
      earlier?.accountId !== accountId ||
      earlier.authid !== authid ||
      earlier.reauth !== reauth ||
      earlier.startedAt === undefined
    )
      return false
    const settings = await engine
      .account(accountId)
      .settings.get()
      .catch(() => null)
    const cooldown = (settings?.sendLimits.resendCooldownSeconds ?? 0) * 1000
    return kit.now() - earlier.startedAt < cooldown
  }
  return { pendingOf, askedLately }
}

/** The sign-in pages: the address form, the waiting page, its poll, the PIN form. */
export function signInRoutes(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const { base, cookies, tokens, engine, sessions } = kit

  const visitorOf = (c: ConsoleContext) => {
    let visitor = readCookie(c, cookies.visitor)
    if (!visitor || !/^[A-Za-z0-9_-]{22}$/.test(visitor)) {
      visitor = tokens.visitor()
      putCookie(c, cookies, cookies.visitor, visitor, 3600)
    }
    return visitor
  }

  const signInPage = async (
    c: ConsoleContext,
    values: { authid?: string; account?: string; next?: string | null },
    errors: FieldError[] = [],
    status = 200,
  ) => {
    const accounts = await engine.accounts.list()
    const single = accounts.length === 1 ? accounts[0]?.id : undefined
    const visitor = visitorOf(c)
    const notice = c.req.query('ended') ? 'Your sign-in expired or was refused. Start again.' : null
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Sign in to the console" flash={notice}>
        <ErrorSummary errors={errors} />
        <p>We send a sign-in link (or a code) to your email address. No password.</p>
        <form method="post" action={`${base}/sign-in`} class="stack narrow">
          <input type="hidden" name="_form" value={tokens.form(`v:${visitor}`)} />
          {values.next ? <input type="hidden" name="next" value={values.next} /> : null}
          {single ? (
            <input type="hidden" name="account" value={single} />
          ) : (
            <Field
              name="account"
              label="Account id"
              value={values.account ?? c.req.query('account') ?? ''}
              required
              errors={errors}
              hint="Your operator gave it to you."
            />
          )}
          <Field
            name="authid"
            label="Your user id"
            hint="Usually your email address."
            value={values.authid ?? ''}
            required
            autocomplete="username"
            errors={errors}
          />
          <button type="submit">Send me a sign-in link</button>
        </form>
      </Layout>,
      status,
    )
  }

  app.get(`${base}/sign-in`, async (c) => {
    const next = consolePath(base, c.req.query('next'))
    const token = readCookie(c, cookies.session)
    if (token && (await sessions.resolve(token))) return kit.redirect(c, next ?? `${base}/`)
    return signInPage(c, { next })
  })

  app.post(`${base}/sign-in`, async (c) => {
    const form = await kit.form(c)
    const visitor = readCookie(c, cookies.visitor)
    if (!visitor || !tokens.matches(tokens.form(`v:${visitor}`), form.get('_form')))
      return signInPage(c, {}, [{ field: 'authid', message: 'This form expired. Please try again.' }], 403)
    const authid = (form.get('authid') ?? '').trim()
    const accountId = (form.get('account') ?? '').trim()
    const next = consolePath(base, form.get('next'))
    if (!authid || authid.length > 256)
      return signInPage(
        c,
        { authid, account: accountId, next },
        [
          {
            field: 'authid',
            message: authid ? 'A user id has at most 256 characters.' : 'Enter your user id.',
          },
        ],
        400,
      )
    if (await askedLately(c, accountId, authid)) return kit.redirect(c, `${base}/sign-in/wait`)
    const ip = kit.clientAddress(c)
    const userAgent = c.req.header('user-agent')
    let started: Awaited<ReturnType<ReturnType<typeof engine.account>['start']>> | null = null
    try {
      started = await engine.account(accountId, { actor: 'console' }).start({
        system: CONSOLE_SYSTEM,
        authid,
        context: { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent: userAgent.slice(0, 1024) } : {}) },
      })
    } catch (error) {
      if (error instanceof ValidationError)
        return signInPage(
          c,
          { authid, account: accountId, next },
          [{ field: 'authid', message: error.message }],
          400,
        )
      if (!(error instanceof NotFoundError)) throw error
    }
    const ok = started?.result === 'success' && started.challengeId !== undefined ? started : null
    // A refused start looks like a link sent, decoy code included, so the page names no administrator.
    const pending: PendingSignIn = {
      accountId,
      authid,
      challengeId: ok?.challengeId ?? null,
      method: ok?.method ?? 'passwordless',
      matchCode: ok ? (ok.matchCode ?? null) : String(randomInt(1000)).padStart(3, '0'),
      expiresAt: ok?.expiresAt.getTime() ?? kit.now() + TEN_MINUTES,
      reauth: null,
      next,
      startedAt: kit.now(),
    }
    putCookie(c, cookies, cookies.signIn, tokens.sign(pending), TEN_MINUTES / 1000)
    return kit.redirect(c, `${base}/sign-in/wait`)
  })

  const { pendingOf, askedLately } = pendingSignIns(kit)

  const waitPage = async (
    c: ConsoleContext,
    pending: PendingSignIn,
    formToken: string,
    message?: string,
    status = 200,
  ) =>
    kit.render(
      c,
      <Layout page={kit.page(c)} title={pending.reauth ? 'Confirm it’s you' : 'Check your email'}>
        {message ? (
          <p class="error" role="alert">
            {message}
          </p>
        ) : null}
        {pending.method === 'pin' ? (
          <>
            <p>We emailed a sign-in code to {pending.authid}. Enter it here.</p>
            <form method="post" action={`${base}/sign-in/pin`} class="stack narrow">
              <input type="hidden" name="_form" value={formToken} />
              <Field
                name="pin"
                label="Sign-in code"
                inputmode="numeric"
                autocomplete="one-time-code"
                pattern="[0-9]*"
                maxlength={12}
                required
              />
              <button type="submit">Sign in</button>
            </form>
          </>
        ) : (
          <>
            <p>
              If {pending.authid} is an administrator of this account, a sign-in link is on its way to their
              email address. Open it on any device and confirm.
            </p>
            {pending.matchCode ? (
              <p class="match">
                The link’s page asks for this code: <strong class="code">{pending.matchCode}</strong>
              </p>
            ) : null}
            <form
              method="post"
              action={`${base}/sign-in/continue`}
              class="stack narrow"
              data-poll={`${base}/sign-in/poll`}
            >
              <input type="hidden" name="_form" value={formToken} />
              <p class="hint" id="waiting" aria-live="polite">
                This page continues on its own once you have confirmed.
              </p>
              <button type="submit">I have confirmed, continue</button>
            </form>
          </>
        )}
        <p>
          <a href={`${base}/sign-in`}>Start again</a>
        </p>
      </Layout>,
      status,
    )

  app.get(`${base}/sign-in/wait`, async (c) => {
    const found = pendingOf(c)
    if (!found) return kit.redirect(c, `${base}/sign-in?ended=1`)
    return waitPage(c, found.pending, found.formToken)
  })

  /** One `check` of this browser's own challenge; on `authenticated`, the session opens (or refreshes). */
  async function advance(
    c: ConsoleContext,
    pin?: string,
  ): Promise<{ state: SignInState; location?: string }> {
    const found = pendingOf(c)
    if (!found) return { state: 'expired' }
    const { pending } = found
    if (!pending.challengeId) return { state: 'pending' }
    const ip = kit.clientAddress(c)
    const userAgent = c.req.header('user-agent')?.slice(0, 1024)
    let checked: CheckResult
    try {
      checked = await engine.account(pending.accountId, { actor: 'console' }).check({
        system: CONSOLE_SYSTEM,
        authid: pending.authid,
        challengeId: pending.challengeId,
        ...(pin !== undefined ? { pin } : {}),
        context: { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) },
      })
    } catch (error) {
      if (error instanceof ValidationError) return { state: 'wrong_pin' }
      throw error
    }
    // Polled too often (S19, S31): still waiting, like pending; the page asks again later.
    if (checked.result === 'pending' || checked.result === 'rate limited') return { state: 'pending' }
    if (checked.result === 'security error' && checked.reason === 'wrong_pin') return { state: 'wrong_pin' }
    dropCookie(c, cookies, cookies.signIn)
    if (checked.result === 'expired') return { state: 'expired' }
    if (checked.result !== 'authenticated') return { state: 'failed' }
    const location = pending.next ?? `${base}/`
    if (pending.reauth) {
      const token = readCookie(c, cookies.session) ?? ''
      const refreshed = await sessions.reauthenticate(token, checked.challengeId)
      return refreshed.result === 'opened' && refreshed.session.id === pending.reauth
        ? { state: 'done', location }
        : { state: 'failed' }
    }
    const opened = await sessions.open({
      accountId: pending.accountId,
      challengeId: checked.challengeId,
      ...(ip ? { ip } : {}),
      ...(userAgent ? { userAgent } : {}),
    })
    if (opened.result !== 'opened')
      return { state: opened.reason === 'not_administrator' ? 'not_admin' : 'failed' }
    putCookie(
      c,
      cookies,
      cookies.session,
      opened.token,
      Math.floor((opened.session.expiresAt.getTime() - kit.now()) / 1000) + 43_200,
    )
    return { state: 'done', location }
  }

  const verifyForm = async (c: ConsoleContext) => {
    const found = pendingOf(c)
    const form = await kit.form(c)
    return found && tokens.matches(found.formToken, form.get('_form')) ? { found, form } : null
  }

  const outcomePage = async (c: ConsoleContext, state: SignInState, location?: string) => {
    const found = pendingOf(c)
    if (state === 'done') return kit.redirect(c, location ?? `${base}/`)
    if (state === 'pending' && found)
      return waitPage(
        c,
        found.pending,
        found.formToken,
        'Not confirmed yet. Open the link in the email first.',
        409,
      )
    if (state === 'wrong_pin' && found)
      return waitPage(
        c,
        found.pending,
        found.formToken,
        'That code is not right. Check the email and try again.',
        400,
      )
    const text =
      state === 'not_admin'
        ? 'You signed in, but this user has no console role in this account. Ask an administrator for one.'
        : state === 'expired'
          ? 'The sign-in expired. Start again.'
          : 'The sign-in did not succeed. Start again.'
    return kit.render(
      c,
      <Layout page={kit.page(c)} title="Not signed in">
        <p>{text}</p>
        <p>
          <a href={`${base}/sign-in`}>Sign in</a>
        </p>
      </Layout>,
      403,
    )
  }

  app.post(`${base}/sign-in/continue`, async (c) => {
    if (!(await verifyForm(c))) return outcomePage(c, 'expired')
    const { state, location } = await advance(c)
    return outcomePage(c, state, location)
  })

  app.post(`${base}/sign-in/pin`, async (c) => {
    const verified = await verifyForm(c)
    if (!verified) return outcomePage(c, 'expired')
    const { state, location } = await advance(c, (verified.form.get('pin') ?? '').trim())
    return outcomePage(c, state, location)
  })

  // The waiting page's script asks here every two seconds; without the script, the button above works.
  app.post(`${base}/sign-in/poll`, async (c) => {
    if (!(await verifyForm(c))) return c.json({ state: 'expired', location: `${base}/sign-in?ended=1` }, 403)
    const { state, location } = await advance(c)
    const to = state === 'done' ? location : state === 'pending' ? undefined : `${base}/sign-in/wait`
    return c.json({ state, ...(to ? { location: to } : {}) }, 200, { 'cache-control': 'no-store' })
  })
}

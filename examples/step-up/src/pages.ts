import { escapeHtml, page } from '@flexsecure/example-shared'

// The step-up example's own pages; the layout, headers and the waiting page are the shared ones.

const alert = (message: string | null | undefined) =>
  message ? `<p role="alert"><strong>${escapeHtml(message)}</strong></p>` : ''

/** The app's existing password login. */
export function passwordPage(message?: string): string {
  return page(
    'Sign in',
    alert(message) +
      `<form method="post" action="/login">` +
      `<p><label for="username">User name</label></p><p><input id="username" name="username" autocomplete="username" required></p>` +
      `<p><label for="password">Password</label></p><p><input id="password" name="password" type="password" autocomplete="current-password" required></p>` +
      `<p><button type="submit">Sign in</button></p></form>`,
  )
}

/** Signed in with the password; the export is the protected action. */
export function homePage(authid: string, verified: boolean): string {
  return page(
    'Payroll',
    `<p>Signed in as <strong id="user">${escapeHtml(authid)}</strong>.</p>` +
      (verified
        ? '<p role="status">You confirmed it is you: for the next 5 minutes the export runs without asking again.</p>'
        : '<p>Exporting the payroll asks you to confirm it is you first.</p>') +
      `<form method="post" action="/export"><button type="submit">Export payroll</button></form>` +
      `<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
  )
}

/** The one-time PIN form of a step-up. */
export function pinPage(message: string | null): string {
  return page(
    'Confirm it is you',
    `<p>We emailed you a one-time code. Type it to continue.</p>${alert(message)}` +
      `<form method="post" action="/step-up"><p><label for="pin">Code from the email</label></p>` +
      `<p><input id="pin" name="pin" inputmode="numeric" autocomplete="one-time-code" required></p>` +
      `<p><button type="submit">Continue</button></p></form><p><a href="/">Cancel</a></p>`,
  )
}

/** Why a step-up ended without passing. */
export function stepUpEndedPage(message: string): string {
  return page('Not confirmed', `${alert(message)}<p><a href="/">Back</a></p>`)
}

/** The protected action's result. */
export function exportedPage(rows: number): string {
  return page('Payroll exported', `<p id="result">Exported ${rows} rows.</p><p><a href="/">Back</a></p>`)
}

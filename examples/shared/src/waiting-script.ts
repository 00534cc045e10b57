// The waiting page's only script, served from the app's origin (the page's CSP allows no inline
// script). It polls the app, never FlexSecure: the API key and the challengeId stay on the server.

/** The path the waiting page loads its script from. */
export const WAITING_SCRIPT_PATH = '/assets/waiting.js'

/**
 * Polls the status element's `data-poll` path every 2 seconds (the cadence FlexSecure expects) and follows `location` once
 * the login ended; `note` replaces the status line (a delivery problem, say).
 */
export const WAITING_SCRIPT = `'use strict'
const status = document.getElementById('status')
async function poll() {
  try {
    const response = await fetch(status.dataset.poll, { headers: { accept: 'application/json' }, cache: 'no-store' })
    const answer = await response.json()
    if (answer.location) return location.assign(answer.location)
    if (answer.note) status.textContent = answer.note
  } catch {
    // A dropped connection: try again on the next beat.
  }
  setTimeout(poll, 2000)
}
setTimeout(poll, 2000)
`

/** Headers for the script. */
export const SCRIPT_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
}

import { redactUrl } from './redaction.js'

/**
 * What went wrong at start-up, in one line that says what to do; null when it is not a known case.
 * Storage errors wrap the driver's (`StorageError` with a `cause`), so the causes are read too.
 */
export function describeStartupError(
  error: unknown,
  context: { readonly database: string; readonly host?: string; readonly port?: number },
): string | null {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const known = describeOne(current, context)
    if (known) return known
    current = (current as { cause?: unknown }).cause
  }
  return null
}

function describeOne(
  error: unknown,
  context: { readonly database: string; readonly host?: string; readonly port?: number },
): string | null {
  const e = (error ?? {}) as {
    code?: string | number
    errno?: number
    message?: string
    path?: string
    syscall?: string
  }
  const code = String(e.code ?? '')
  const message = String(e.message ?? '')
  const database = redactUrl(context.database)
  // better-sqlite3 loads its native module on the first connection; without it (its install script
  // skipped, as npm 12 does unless package.json's allowScripts allows it) `bindings` says only where it looked.
  if (/^Could not locate the bindings file/.test(message))
    return `better-sqlite3's native module was never built (its install script did not run; npm 12 runs it only when allowed): in the folder flexsecure is installed in, run npm pkg set allowScripts.better-sqlite3=true allowScripts.argon2=true --json && npm rebuild better-sqlite3 argon2 (README.md, "Installing from npm")`
  if ((error as { name?: string }).name === 'SecretMismatchError')
    return `FLEXSECURE_SECRET is not the secret ${database} was made with (${message.slice(message.indexOf('(') + 1, message.indexOf(')'))}): set it to that secret; to rotate, make the new one FLEXSECURE_SECRET and list the old one in FLEXSECURE_PREVIOUS_SECRETS (docs/operations.md)`
  if (code === 'EADDRINUSE')
    return `port ${context.port} on ${context.host} is already in use: stop the other process or set FLEXSECURE_PORT to a free port`
  if (code === 'EADDRNOTAVAIL')
    return `cannot listen on ${context.host}: this machine has no such address; set FLEXSECURE_HOST to one of its addresses (or 0.0.0.0)`
  if (code === 'EACCES' && e.syscall === 'listen')
    return `not allowed to listen on port ${context.port}: ports below 1024 need privileges; use a higher FLEXSECURE_PORT behind a reverse proxy`
  if (code === 'SQLITE_NOTADB' || /file is not a database/i.test(message))
    return `${database} is not a SQLite database: point FLEXSECURE_DB at a FlexSecure database file, or at a path that does not exist yet`
  if (
    code === 'SQLITE_CANTOPEN' ||
    code === 'SQLITE_READONLY' ||
    ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR'].includes(code)
  )
    return `cannot write ${e.path ?? database} (${code}): make its directory writable by the user running flexsecure, or set FLEXSECURE_DB to another path`
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT')
    return `cannot reach the database server at ${database} (${code}): start it, or fix the host and port in FLEXSECURE_DB`
  // pg's connect timeout: nothing answered (a dropped SYN), or something took the connection and never
  // spoke PostgreSQL.
  if (
    /^Connection terminated due to connection timeout|^timeout exceeded when trying to connect/.test(message)
  )
    return `the database server at ${database} did not answer within the connect timeout: check the host and port in FLEXSECURE_DB and that a PostgreSQL server is up there (connect_timeout in the URL, in seconds, sets the wait; 10 by default)`
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR')
    return `the database named in ${database} does not exist: create it (CREATE DATABASE …) or fix FLEXSECURE_DB`
  if (
    code === '28P01' ||
    code === '28000' ||
    code === 'ER_ACCESS_DENIED_ERROR' ||
    code === 'ER_DBACCESS_DENIED_ERROR'
  )
    return `the database server refused the credentials in ${database}: fix the user and password in FLEXSECURE_DB`
  return null
}

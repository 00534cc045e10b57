/** The `flexsecure` command's help: one text per command, printed by `--help` before anything is opened. */
export const USAGE: Readonly<Record<string, string>> = {
  '': `usage: flexsecure <command> [options]

  serve                 run the HTTP API (creates the database, and on first run an account and keys)
  migrate               create or upgrade the database schema
  init                  create an account and print its admin and auth keys once
  console-admin         give a user a console role, so they can sign in at /console
  accounts              list, create or show accounts
  systems               list, show, create or update the systems of an account
  users                 list, show, create, update, unlock or remove users
  assign                give a user access to systems, each with one method
  keys                  create, list or revoke API keys
  audit                 verify the audit chains, or list events
  settings              show or change an account's settings
  secret                show the secret's fingerprint, or rotate to a new secret
  operator-key          make an operator key for /v1/operator and /metrics

Options for every command:
  --config FILE         a config file: JSON, or an ES module (flexsecure.config.mjs)
  --production          production mode (also NODE_ENV=production)
  --account ID          the account to act on (needed when there are several)
  --json                answer in JSON
  -h, --help            this help; \`flexsecure <command> --help\` for a command's own

An id that begins with "-" goes after "--": flexsecure users show -- -x1
Exit codes: 0 done, 1 refused or failed (not found, broken audit chain, database unreachable), 2 usage or
configuration error. Every setting: docs/configuration.md (installed from npm: node_modules/@flexsecure/server/docs/).`,
  serve: `usage: flexsecure serve [--production] [--config FILE]

Runs the HTTP API on FLEXSECURE_HOST:FLEXSECURE_PORT, migrating the database first. On an empty
database it creates an account, an admin key, an auth key and a demo user; in production mode the keys
go to a 0600 file whose path is printed, never to the output.`,
  migrate: `usage: flexsecure migrate

Creates or upgrades the database schema, then exits. Run it before starting a newer version.`,
  init: `usage: flexsecure init [--name NAME] [--admin-email ADDRESS]

Creates an account (default name "Default") and prints its admin and auth keys, once. With
--admin-email, that address becomes the account's first console administrator.`,
  'console-admin': `usage: flexsecure console-admin --email ADDRESS [--role admin|viewer|none]

Gives the user with that email (created when missing) a console role: admin (everything the admin API
does) or viewer (reads only); none takes it away. They sign in at /console with a link sent there.`,
  accounts: `usage: flexsecure accounts list
       flexsecure accounts create --name NAME     prints the account and its first admin key, once
       flexsecure accounts show ID`,
  systems: `usage: flexsecure systems list
       flexsecure systems show NAME
       flexsecure systems create NAME [--policies JSON] [--sensitivity low|medium|high] [--rules JSON]
       flexsecure systems update NAME [--policies JSON] [--sensitivity …] [--rules JSON] [--messages JSON]

--policies is JSON such as '{"passwordless":{"enabled":true},"pin":{"enabled":true}}'.`,
  users: `usage: flexsecure users list [--after AUTHID] [--limit N]
       flexsecure users show AUTHID
       flexsecure users create AUTHID [--email E] [--phone +E164] [--display-name N] [--locale L]
       flexsecure users update AUTHID [--email E] [--phone P] [--display-name N] [--locale L] (an empty value clears)
       flexsecure users unlock AUTHID
       flexsecure users remove AUTHID`,
  assign: `usage: flexsecure assign AUTHID SYSTEM:METHOD[:CHANNEL] …

Gives the user access to each system with one method (passwordless or pin) and optionally a fixed
channel (email or sms); all or none. Example: flexsecure assign alice payroll:pin wiki:passwordless:email`,
  keys: `usage: flexsecure keys create --name NAME [--scopes auth,admin]
       flexsecure keys list
       flexsecure keys revoke KEY_ID     (or --id KEY_ID)`,
  audit: `usage: flexsecure audit verify              exit 1 if an account's audit chain is broken, or ends
                                            before the latest checkpoint (FLEXSECURE_AUDIT_CHECKPOINTS)
       flexsecure audit checkpoint          write a signed checkpoint of every account's chain head
       flexsecure audit list [--system S] [--authid A] [--type T] [--since ISO-TIME] [--limit N]`,
  settings: `usage: flexsecure settings show
       flexsecure settings set JSON

JSON merges over the account's settings, e.g. '{"sendLimits":{"perUserPerHour":3}}'. The keys:
uniformResponses, sendLimits, lockout, auditRetentionDays, returnOrigins, messages (docs/configuration.md).`,
  secret: `usage: flexsecure secret fingerprint   the configured secret's fingerprint and the database's
       flexsecure secret rotate        make FLEXSECURE_SECRET the database's secret

Rotation: put the new secret in FLEXSECURE_SECRET and the old one in FLEXSECURE_PREVIOUS_SECRETS, then
rotate (or start the server). Waiting messages are re-sealed; the rotation is audited; older audit events
still need the old secret to verify. Step by step: docs/operations.md.`,
  'operator-key': `usage: flexsecure operator-key

Prints a new operator key (fso_…) and its SHA-256. Keep the key; put the digest in
FLEXSECURE_OPERATOR_KEY_SHA256 (comma-separate several to rotate). Opens nothing.`,
}

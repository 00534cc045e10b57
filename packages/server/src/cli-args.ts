/** Bad usage of the command line: exit code 2 with the command's help. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** A command line taken apart: `flexsecure <command> [sub] [positionals] [--options]`. */
export interface CommandLine {
  readonly command: string
  readonly positionals: readonly string[]
  readonly options: Readonly<Record<string, string>>
  readonly flags: ReadonlySet<string>
}

const GLOBAL_VALUES = ['config', 'account']
const GLOBAL_FLAGS = ['production', 'json', 'help', 'version']

/** The options each command takes beyond the global ones. */
const COMMAND_VALUES: Readonly<Record<string, readonly string[]>> = {
  serve: [],
  migrate: [],
  init: ['name', 'admin-email'],
  'console-admin': ['email', 'role'],
  accounts: ['name'],
  systems: ['policies', 'sensitivity', 'rules', 'messages'],
  users: ['email', 'phone', 'display-name', 'locale', 'after', 'limit'],
  assign: [],
  keys: ['name', 'scopes', 'id'],
  audit: ['system', 'authid', 'type', 'since', 'limit'],
  settings: [],
  secret: [],
  'operator-key': [],
}

/** The commands there are. */
export const COMMANDS: readonly string[] = Object.keys(COMMAND_VALUES)

/**
 * Parses argv. An option's value is the next word whatever it begins with (`--id -x1` is the id
 * `-x1`); a positional that begins with `-` goes after `--`. Unknown options are refused, never
 * guessed at.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  // The command is the first word that is neither an option nor a global option's value, so global
  // options may come first: `flexsecure --json audit list`.
  let at = 0
  while (at < argv.length && (argv[at] as string).startsWith('-') && argv[at] !== '--')
    at += GLOBAL_VALUES.includes((argv[at] as string).slice(2)) ? 2 : 1
  const command = at < argv.length && argv[at] !== '--' ? (argv[at] as string) : ''
  if (command && !COMMANDS.includes(command)) throw new UsageError(`unknown command: ${command}`)
  const values = [...GLOBAL_VALUES, ...(COMMAND_VALUES[command] ?? [])]
  const positionals: string[] = []
  const options: Record<string, string> = {}
  const flags = new Set<string>()
  const rest = command ? [...argv.slice(0, at), ...argv.slice(at + 1)] : [...argv]
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string
    if (word === '--') {
      positionals.push(...rest.slice(i + 1))
      break
    }
    if (word === '-h') {
      flags.add('help')
      continue
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word)
      continue
    }
    const [name, inline] = word.startsWith('--') ? splitOnce(word.slice(2)) : [word, undefined]
    if (GLOBAL_FLAGS.includes(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`)
      flags.add(name)
      continue
    }
    if (!values.includes(name))
      throw new UsageError(
        `unknown option ${word}${command ? ` for ${command}` : ''}; a value that begins with "-" goes after "--"`,
      )
    const value = inline ?? rest[++i]
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    options[name] = value
  }
  return { command, positionals, options, flags }
}

function splitOnce(text: string): [string, string | undefined] {
  const at = text.indexOf('=')
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)]
}

// `flexsecure serve` as a child process on a free port, for end-to-end tests: started, read for its
// address and first-run keys, and stopped with SIGTERM. `runCli` runs any other command to its end.
import { spawn, spawnSync } from 'node:child_process'

const packageDir = new URL('..', import.meta.url).pathname
const cli = `${packageDir}src/cli.ts`
const tsx = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href
/** Sizes libuv's pool as `bin/flexsecure.js` does, before the ES modules load. */
const threadPool = `${packageDir}bin/thread-pool.js`

export interface ServeProcess {
  readonly url: string
  /** The server's process id, to read what it uses (`/proc/<pid>/status`). */
  readonly pid: number
  /** The first run's keys, as printed (not in production mode, which writes them to a file). */
  readonly adminKey: string
  readonly authKey: string
  /** Everything it printed so far. */
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
}

export interface ServeOptions {
  /** Arguments after `serve` (`--production`, `--config FILE`). */
  readonly args?: readonly string[]
  /** The line that says it is up; default the printed auth key. */
  readonly ready?: RegExp
  readonly cwd?: string
}

export async function startServe(
  env: Record<string, string>,
  options: ServeOptions = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ['-r', threadPool, '--import', tsx, cli, 'serve', ...(options.args ?? [])],
    {
      cwd: options.cwd ?? packageDir,
      env: { ...process.env, FLEXSECURE_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const ready = options.ready ?? /auth key: {2}fsk_\w+/
  for (let i = 0; i < 600 && !ready.test(output) && child.exitCode === null; i++)
    await new Promise((resolve) => setTimeout(resolve, 50))
  const find = (pattern: RegExp) => {
    const found = pattern.exec(output)?.[1]
    if (!found) throw new Error(`flexsecure serve never printed ${pattern}; it said:\n${output}`)
    return found
  }
  return {
    url: find(/listening on (http:\/\/[\d.:]+)/),
    pid: child.pid as number,
    get adminKey() {
      return find(/admin key: (fsk_\w+)/)
    },
    get authKey() {
      return find(/auth key: {2}(fsk_\w+)/)
    },
    output: () => output,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

/** Runs `flexsecure …` to its end; returns its exit code and output. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd = packageDir,
  as: { readonly uid?: number; readonly gid?: number } = {},
) {
  const run = spawnSync(process.execPath, ['--import', tsx, cli, ...args], {
    cwd,
    ...as,
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env }).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    ),
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: run.status, out: run.stdout + run.stderr, stdout: run.stdout, stderr: run.stderr }
}

// `flexsecure serve` as a child process on a free port, for end-to-end tests: started, read for its
// address and first-run keys, and stopped with SIGTERM.
import { spawn } from 'node:child_process'

const packageDir = new URL('..', import.meta.url).pathname

export interface ServeProcess {
  readonly url: string
  /** The server's process id, to read what it uses (`/proc/<pid>/status`). */
  readonly pid: number
  readonly adminKey: string
  readonly authKey: string
  /** Everything it printed so far. */
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
}

export async function startServe(env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: packageDir,
    env: { ...process.env, FLEXSECURE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  for (let i = 0; i < 300 && !/auth key: {2}fsk_\w+/.test(output) && child.exitCode === null; i++)
    await new Promise((resolve) => setTimeout(resolve, 50))
  const find = (pattern: RegExp) => {
    const found = pattern.exec(output)?.[1]
    if (!found) throw new Error(`flexsecure serve never printed ${pattern}; it said:\n${output}`)
    return found
  }
  return {
    url: find(/listening on (http:\/\/[\d.:]+)/),
    pid: child.pid as number,
    adminKey: find(/admin key: (fsk_\w+)/),
    authKey: find(/auth key: {2}(fsk_\w+)/),
    output: () => output,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

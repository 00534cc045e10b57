import { exitCodeFor, main } from '../src/cli.js'

/** `flexsecure …` in this process: the exit code, what `--json` printed (parsed), and stderr's lines. */
export async function flexsecureInProcess(...args: string[]) {
  const printed: unknown[] = []
  const errors: string[] = []
  const error = console.error
  console.error = (line: string) => errors.push(line)
  try {
    const code = await main(
      [...args, '--json'],
      (value) => printed.push(JSON.parse(JSON.stringify(value))),
      () => {},
    ).catch((thrown) => exitCodeFor(thrown, args))
    return { code, value: printed[0] as never, error: errors.join('\n') }
  } finally {
    console.error = error
  }
}

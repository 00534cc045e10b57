import { execFile } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PublishablePackage, publishablePackages, ROOT } from './publishable-packages.js'

const run = promisify(execFile)
const packages = publishablePackages()
/** Needs vitest, an optional peer the fresh app does not install. */
const NEEDS_VITEST = new Set(['@flexsecure/core/conformance'])
const entries = packages.flatMap((p) => p.entries).filter((entry) => !NEEDS_VITEST.has(entry))

let app: string
const tarballs = new Map<PublishablePackage, string>()

/** Runs a command in the fresh app; returns its output, or throws with it. */
async function inApp(command: string, args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await run(command, args, {
    cwd: app,
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout + stderr
}

// Everything is built, packed and installed from scratch on every run: a file missing from a package's
// `files`, a dependency only the workspace provides, or a type only a dev dependency declares fails here
// as it would for a user.
beforeAll(async () => {
  await run('pnpm', ['build'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })
  app = mkdtempSync(join(tmpdir(), 'flexsecure-fresh-app-'))
  const packs = join(app, 'packs')
  mkdirSync(packs)
  for (const pkg of packages) {
    const before = new Set(readdirSync(packs))
    await run('pnpm', ['pack', '--pack-destination', packs], { cwd: pkg.dir })
    const made = readdirSync(packs).find((file) => !before.has(file))
    if (!made) throw new Error(`pnpm pack made no tarball for ${pkg.name}`)
    tarballs.set(pkg, join(packs, made))
  }
  const dependencies = Object.fromEntries(
    packages.map((pkg) => [pkg.name, `file:./packs/${basename(tarballs.get(pkg) as string)}`]),
  )
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'fresh-app',
      private: true,
      type: 'module',
      // As the READMEs say: the app installs better-sqlite3 itself (here the workspace's version).
      dependencies: {
        ...dependencies,
        'better-sqlite3': workspaceVersion('better-sqlite3'),
        typescript: '5.9.3',
        '@types/node': '20.19.43',
      },
    }),
  )
  // Peers (better-sqlite3, kysely, pg, mysql2) come in as npm installs them for a user: automatically.
  // Install scripts are skipped only to spare compiling the native addons; provideNativeBinaries says how.
  await inApp('npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--ignore-scripts',
    '--loglevel=error',
  ])
  await provideNativeBinaries()
  copyFileSync(join(ROOT, 'examples/demo/readme-example.ts'), join(app, 'readme-example.mts'))
  writeFileSync(
    join(app, 'entries.mts'),
    `${entries.map((entry, i) => `import * as e${i} from '${entry}'`).join('\n')}\nexport const all = [${entries.map((_, i) => `e${i}`).join(', ')}]\n`,
  )
  writeFileSync(
    join(app, 'entries.cts'),
    `${entries.map((entry, i) => `import e${i} = require('${entry}')`).join('\n')}\nexport const all = [${entries.map((_, i) => `e${i}`).join(', ')}]\n`,
  )
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        skipLibCheck: false,
        types: ['node'],
        outDir: 'out',
      },
      files: ['readme-example.mts', 'entries.mts', 'entries.cts'],
    }),
  )
}, 1_200_000)

/** The native packages, and the workspace package whose node_modules holds the workspace's build. */
const NATIVE = [
  { name: 'better-sqlite3', owner: 'adapters/sqlite', binary: 'build/Release/better_sqlite3.node' },
  { name: 'argon2', owner: 'packages/core', binary: 'build/Release/argon2.node' },
] as const
const workspaceFolder = (name: string) =>
  realpathSync(
    join(ROOT, NATIVE.find((n) => n.name === name)?.owner ?? 'adapters/sqlite', 'node_modules', name),
  )
const versionIn = (dir: string): string => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
const workspaceVersion = (name: string) => versionIn(workspaceFolder(name))

/** Every copy of a package npm installed in the app, by version. */
function copiesOf(name: string): string[] {
  const found: string[] = []
  const visit = (modules: string) => {
    if (existsSync(join(modules, name, 'package.json'))) found.push(versionIn(join(modules, name)))
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue
      const folders = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((inner) => join(modules, entry, inner))
        : [join(modules, entry)]
      for (const folder of folders)
        if (existsSync(join(folder, 'node_modules'))) visit(join(folder, 'node_modules'))
    }
  }
  visit(join(app, 'node_modules'))
  return found
}

/**
 * The native addons, built: copied from the workspace's build of the same version, or built by npm.
 * (argon2's prebuilt binary crashes on this machine, so its install script compiles it, as does
 * better-sqlite3's, which can fetch no prebuilt binary here: a minute and more of the two cores.)
 */
async function provideNativeBinaries() {
  for (const { name, binary } of NATIVE) {
    const installed = join(app, 'node_modules', name)
    const workspace = workspaceFolder(name)
    if (versionIn(installed) === versionIn(workspace) && existsSync(join(workspace, binary))) {
      mkdirSync(dirname(join(installed, binary)), { recursive: true })
      copyFileSync(join(workspace, binary), join(installed, binary))
    } else await inApp('npm', ['rebuild', name])
  }
}

afterAll(async () => {
  if (app) await rm(app, { recursive: true, force: true })
}, 120_000)

describe('every publishable package, installed from its tarball in a fresh app', () => {
  it.each(packages.map((pkg) => [pkg.name, pkg] as const))(
    '%s ships its README, LICENSE, built JavaScript and declarations, and no sources',
    async (_name, pkg) => {
      const { stdout } = await run('tar', ['tzf', tarballs.get(pkg) as string])
      const files = stdout.split('\n').filter(Boolean)
      expect(files).toEqual(
        expect.arrayContaining([
          'package/README.md',
          'package/LICENSE',
          'package/dist/index.js',
          'package/dist/index.d.ts',
        ]),
      )
      expect(files.filter((file) => file.startsWith('package/src/'))).toEqual([])
    },
  )

  it("ships the server's operator guides, which its --help and errors name, and leaves none in the tree", async () => {
    const server = packages.find((pkg) => pkg.name === '@flexsecure/server') as PublishablePackage
    const { stdout } = await run('tar', ['tzf', tarballs.get(server) as string])
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining(['package/docs/configuration.md', 'package/docs/operations.md']),
    )
    expect(readFileSync(join(app, 'node_modules/@flexsecure/server/docs/configuration.md'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8'),
    )
    expect(existsSync(join(server.dir, 'docs'))).toBe(false)
  })

  it.each(['kysely', 'better-sqlite3', 'pg', 'mysql2'])('installs one copy of %s', (name) => {
    expect(copiesOf(name)).toHaveLength(1)
  })

  it('type-checks with tsc --strict, module nodenext and no skipLibCheck, ESM and CommonJS', async () => {
    await expect(inApp(join(app, 'node_modules/.bin/tsc'), ['-p', '.'])).resolves.toBeDefined()
  }, 120_000)

  it("runs the README's example, compiled by that check, with plain node", async () => {
    expect(await inApp(process.execPath, ['out/readme-example.mjs'])).toMatch(/result: 'authenticated'/)
  }, 60_000)

  it('loads every entry point with CommonJS require()', async () => {
    const script = `const names = ${JSON.stringify(entries)}
const loaded = names.map((name) => [name, Object.keys(require(name)).length])
console.log(JSON.stringify(Object.fromEntries(loaded)))`
    writeFileSync(join(app, 'require-all.cjs'), script)
    const counts = JSON.parse(
      (await inApp(process.execPath, ['require-all.cjs'])).trim().split('\n').at(-1) ?? '{}',
    )
    expect(Object.keys(counts).sort()).toEqual([...entries].sort())
    for (const entry of entries) expect(counts[entry], entry).toBeGreaterThan(0)
  }, 60_000)

  it('runs the flexsecure bin as built JavaScript, with no TypeScript runtime installed', async () => {
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false)
    expect(existsSync(join(app, 'node_modules/esbuild'))).toBe(false)
    const database = join(app, 'db', 'flexsecure.db')
    const out = await inApp(join(app, 'node_modules/.bin/flexsecure'), ['migrate'], {
      FLEXSECURE_DB: database,
    })
    expect(out).toContain('is up to date')
    expect(existsSync(database)).toBe(true)
  }, 60_000)
})

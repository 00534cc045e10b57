// Browser tests run in the machine's own Chromium (Debian's package), never a downloaded one.
// `.ci/run` installs it and sets FLEXSECURE_REQUIRE_BROWSER=1, so there a missing browser fails the
// run instead of skipping the tests.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type Browser, chromium, type Page } from 'playwright-core'

const CANDIDATES = [process.env.FLEXSECURE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']

/** Where Chromium is on this machine, or null. `FLEXSECURE_CHROMIUM` names another one. */
export function chromiumPath(): string | null {
  return CANDIDATES.find((path): path is string => !!path && existsSync(path)) ?? null
}

/**
 * Whether browser tests can run here. Without Chromium they skip, saying why, unless
 * FLEXSECURE_REQUIRE_BROWSER=1 (CI), where the absence is an error.
 */
export function browserAvailable(): boolean {
  if (chromiumPath()) return true
  if (process.env.FLEXSECURE_REQUIRE_BROWSER === '1')
    throw new Error('FLEXSECURE_REQUIRE_BROWSER=1 but no Chromium: apt-get install -y chromium')
  console.warn(
    '[browser-test] no Chromium at /usr/bin/chromium: browser tests skip (apt-get install -y chromium)',
  )
  return false
}

/** Headless Chromium with the flags this machine's closed network needs. Close it when done. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath()
  if (!executablePath) throw new Error('no Chromium found: apt-get install -y chromium')
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: readonly string[]
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/**
 * Runs axe-core on the page as it is now and returns every violation, minor and moderate ones too. The
 * script is added through the DevTools protocol, so the page's Content-Security-Policy does not have to
 * allow it.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource)
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[]
  }
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')),
  }))
}

/** The serious and critical violations axe finds (the ones a test of a busy page should fail on). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  return (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

export type { Browser, BrowserContext, Page } from 'playwright-core'

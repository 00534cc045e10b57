// Copies the operator's guides into the package before `pnpm pack` (prepack) and removes them after
// (postpack): `flexsecure --help`, its errors and the systemd unit name docs/configuration.md and
// docs/operations.md, which a server installed from npm then has at node_modules/@flexsecure/server/docs/.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'

const GUIDES = ['configuration.md', 'operations.md']
const shipped = new URL('../docs/', import.meta.url)

if (process.argv.includes('--remove')) rmSync(shipped, { recursive: true, force: true })
else {
  mkdirSync(shipped, { recursive: true })
  for (const guide of GUIDES)
    copyFileSync(new URL(`../../../docs/${guide}`, import.meta.url), new URL(guide, shipped))
}

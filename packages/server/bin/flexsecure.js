#!/usr/bin/env node
// Runs the built CLI; in this repository, `pnpm flexsecure` runs the sources with tsx.
import('../dist/cli.js').then((cli) => cli.runFromProcess())

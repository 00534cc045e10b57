#!/usr/bin/env node
// Runs the built CLI when published; in this repository, `pnpm flexsecure` runs the sources with tsx.
import('../dist/cli.js')

#!/usr/bin/env node
// Runs the built CLI; in this repository, `pnpm flexsecure` runs the sources with tsx. CommonJS
// (bin/package.json), so that libuv's thread pool is sized before anything starts it (thread-pool.js).
require('./thread-pool.js')
import('../dist/cli.js').then((cli) => cli.runFromProcess())

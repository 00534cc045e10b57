// Sizes libuv's thread pool for this machine (issue 16): argon2 PIN hashes, and node's fs, dns.lookup and
// async crypto, run on it. The pool starts with the first such job and reads UV_THREADPOOL_SIZE then,
// once; loading an ES module is such a job, so this runs from a CommonJS entry (`bin/flexsecure.js`, or
// `node -r` before the ES modules), and does nothing where the pool may already run.
//
// One thread fewer than the cores (at least one): a burst of hashing then leaves a core to the event
// loop, which answers every request (4, node's default, puts 4 hashing threads and the loop on 2
// cores, and the loop waits its turn). An operator's own UV_THREADPOOL_SIZE is kept.
const { availableParallelism } = require('node:os')

/** The pool size this machine gets. */
function threadPoolSize(cores) {
  return Math.max(1, cores - 1)
}

if (!process.env.UV_THREADPOOL_SIZE)
  process.env.UV_THREADPOOL_SIZE = String(threadPoolSize(availableParallelism()))

module.exports = { threadPoolSize }

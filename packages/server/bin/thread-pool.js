// Sizes the process's helper threads for this machine before the server starts (issue 16): libuv's
// thread pool, and on two cores or fewer, V8's parallel scavenging.
//
// libuv's pool: argon2 PIN hashes, and node's fs, dns.lookup and async crypto, run on it. The pool starts
// with the first such job and reads UV_THREADPOOL_SIZE then, once; loading an ES module is such a job, so
// this runs from a CommonJS entry (`bin/flexsecure.js`, or `node -r` before the ES modules), and does
// nothing where the pool may already run. One thread fewer than the cores (at least one): a burst of
// hashing then leaves a core to the event loop, which answers every request (4, node's default, puts 4
// hashing threads and the loop on 2 cores, and the loop waits its turn). An operator's own
// UV_THREADPOOL_SIZE is kept.
//
// V8's scavenges (the young generation's collections, every 100–200 ms under load) stop the event loop,
// and by default share their work with V8's helper threads. On two cores the other core is the pool's,
// the WAL checkpointer's and whatever else runs there; a helper preempted mid-scavenge keeps the loop
// waiting for it, and scavenges took 2–10 ms under saturated logins. Scavenging on the loop's thread
// alone took the loop's p99 from 7.2–9.1 ms to 5.6–6.7 ms saturated, and from 3.6–4.7 ms to 3.0–3.6 ms
// at 400 logins a second, for as many logins (bench/README.md, "Twelfth session"). An operator's own
// choice on node's command line (`--parallel-scavenge`, `--single-threaded-gc`) is kept. V8 reads this
// flag at each scavenge, so setting it here, before the server starts, is in time. Cores are counted as
// node counts them (`availableParallelism()`), as for the pool.
const { availableParallelism } = require('node:os')
const { setFlagsFromString } = require('node:v8')

/** The pool size this machine gets. */
function threadPoolSize(cores) {
  return Math.max(1, cores - 1)
}

/** Whether V8 scavenges on the main thread alone: two cores or fewer, unless node's own flags say. */
function scavengeAlone(cores, execArgv) {
  return (
    cores <= 2 &&
    // V8 spells a negation `--no-flag` or `--noflag`, and `-` or `_` inside a name; a longer name that
    // begins the same (`--single-threaded-gc-in-background`) is another flag.
    !execArgv.some((flag) => /^--(no-?)?(parallel[-_]scavenge|single[-_]threaded[-_]gc)(?![-\w])/.test(flag))
  )
}

const cores = availableParallelism()

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(threadPoolSize(cores))

if (scavengeAlone(cores, process.execArgv)) setFlagsFromString('--no-parallel-scavenge')

module.exports = { threadPoolSize, scavengeAlone }

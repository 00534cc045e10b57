// A child process of the login races: opens its own storage on the shared database, waits for the
// word, runs its share of the calls at once, and reports every answer.
import { pathToFileURL } from 'node:url'
import { createEngine } from '../engine.js'
import type { Storage } from '../ports/storage.js'
import { captureNotifier } from '../testing/capture-notifier.js'
import { cheapHasher } from '../testing/cheap-hasher.js'
import { RACE_BASE_URL, RACE_SECRET, RACE_SYSTEM, RACE_USER, type RaceJob } from './login-races.js'

let storage: Storage | undefined

process.on(
  'message',
  async (message: { type: string; module?: string; options?: unknown; job?: RaceJob; count?: number }) => {
    try {
      if (message.type === 'open') {
        const specifier = String(message.module)
        const mod = await import(specifier.startsWith('file:') ? specifier : pathToFileURL(specifier).href)
        storage = (await mod.openStorage(message.options)) as Storage
        process.send?.({ type: 'ready' })
        return
      }
      if (message.type !== 'go' || !storage || !message.job) return
      const job = message.job
      const hasher = cheapHasher()
      let verifications = 0
      const notifier = captureNotifier()
      const engine = createEngine({
        // The race decides when work runs, not the engine's own timers.
        background: false,
        storage,
        notifier,
        secret: RACE_SECRET,
        links: { baseUrl: RACE_BASE_URL },
        // One-time PINs through `hasher`, so the race can count the verifications, unless the job races
        // S8's keyed HMAC (the default), verified before its attempt is taken.
        pinHashing: job.kind === 'check' && job.pinHashing === 'hmac' ? 'hmac' : 'argon2id',
        hasher: {
          hash: (pin) => hasher.hash(pin),
          verify: (hash, pin) => {
            verifications++
            return hasher.verify(hash, pin)
          },
        },
        logger: { warn: () => {}, error: () => {} },
        // The races are about storage: 50 checks of one login at once are a flood to S19's budget.
        throttle: false,
      })
      const call = async (): Promise<string> => {
        if (job.kind === 'confirm') return (await engine.links.confirm(job.token)).result
        if (job.kind === 'redeem') return (await engine.links.redeem(job.code)).result
        if (job.kind === 'deliver') {
          await engine.deliverDue()
          return 'delivered'
        }
        const account = engine.account(job.accountId)
        if (job.kind === 'start') {
          const started = await account.start({ system: RACE_SYSTEM, authid: RACE_USER })
          if (started.result === 'success') return `success:${started.challengeId}`
          return started.result === 'security error' ? `security error:${started.reason}` : started.result
        }
        const checked = await account.check({ system: RACE_SYSTEM, authid: RACE_USER, pin: job.pin })
        return checked.result === 'security error' ? `security error:${checked.reason}` : checked.result
      }
      const results = await Promise.all(
        Array.from({ length: message.count ?? 1 }, () =>
          call().catch((error: Error) => `threw:${error.name}:${error.message}`),
        ),
      )
      // What this process's outbox handed to the provider, by idempotency key.
      for (const sent of notifier.messages) results.push(`sent:${sent.idempotencyKey}`)
      await storage.close()
      process.send?.({ type: 'done', results, verifications }, () => process.exit(0))
    } catch (error) {
      process.send?.({ type: 'error', error: String((error as Error)?.stack ?? error) }, () =>
        process.exit(1),
      )
    }
  },
)

// `pnpm start`: the step-up example on http://localhost:3000 (PORT, APP_URL, EXAMPLE_DB, FLEXSECURE_SECRET).
import { exampleConfig, openExampleEngine } from '@flexsecure/example-shared'
import { consoleNotifier } from '@flexsecure/server'
import { serve } from './app.js'
import { examplePasswords, seedStepUp } from './seed.js'

const config = exampleConfig('step-up-example')
const { engine, account } = await openExampleEngine({
  filename: config.database,
  secret: config.secret,
  appUrl: config.appUrl,
  notifier: consoleNotifier(),
  seed: seedStepUp,
})
const app = await serve({
  engine,
  account,
  secret: config.secret,
  passwords: examplePasswords(),
  secureCookies: config.secureCookies,
  port: config.port,
})
console.log(
  `step-up example: open ${config.appUrl}, sign in as alice / correct horse battery staple, and export.`,
)
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void app.close().then(() => engine.close())
  })

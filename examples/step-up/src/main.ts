// `pnpm start`: the step-up example on http://localhost:3000 (PORT, APP_URL, EXAMPLE_DB, FLEXSECURE_SECRET).
import { runExample } from '@flexsecure/example-shared'
import { serve } from './app.js'
import { examplePasswords, seedStepUp } from './seed.js'

await runExample('step-up-example', (options) => serve({ ...options, passwords: examplePasswords() }), {
  seed: seedStepUp,
  hint: 'sign in as alice / correct horse battery staple, then export',
})

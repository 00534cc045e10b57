// `pnpm start`: the Hono example on http://localhost:3000 (PORT, APP_URL, EXAMPLE_DB, FLEXSECURE_SECRET).
import { runExample } from '@flexsecure/example-shared'
import { serve } from './app.js'

await runExample('hono-example', serve)

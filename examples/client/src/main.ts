// `pnpm start`: the app on http://localhost:3000 against a FlexSecure server (`pnpm start` at the
// repository's root). FLEXSECURE_URL (default http://127.0.0.1:8080), FLEXSECURE_API_KEY (an `auth`
// key: the server prints one on its first run), FLEXSECURE_SYSTEM (default `demo`), PORT.
import { createClient } from '@flexsecure/client'
import { serve } from './app.js'

const apiKey = process.env.FLEXSECURE_API_KEY
if (!apiKey) throw new Error('set FLEXSECURE_API_KEY to an auth key of your FlexSecure server')
const port = Number(process.env.PORT ?? 3000)
const app = await serve({
  flexsecure: createClient({ baseUrl: process.env.FLEXSECURE_URL ?? 'http://127.0.0.1:8080', apiKey }),
  system: process.env.FLEXSECURE_SYSTEM ?? 'demo',
  port,
})
console.log(`client example: open http://localhost:${port} and sign in as demo; the server prints the link.`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close())

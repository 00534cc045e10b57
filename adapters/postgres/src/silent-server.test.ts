import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { postgresStorage } from './postgres-storage.js'

// A server that accepts the connection and never answers (a wrong port, a stuck proxy): the owned pool
// had no connect timeout, so the storage's first statement, and the server's start with it, waited
// forever. No PostgreSQL is needed: the listener below is the whole server.

let listener: Server | undefined
const sockets = new Set<Socket>()
afterEach(async () => {
  for (const socket of sockets) socket.destroy()
  sockets.clear()
  await new Promise((resolve) => listener?.close(resolve))
})

async function silentServer(): Promise<number> {
  listener = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => listener?.listen(0, '127.0.0.1', resolve))
  return (listener.address() as { port: number }).port
}

describe('a PostgreSQL storage on a server that never answers', () => {
  it('fails its first statement once the connect timeout has passed, instead of waiting forever', async () => {
    const port = await silentServer()
    const storage = postgresStorage({
      connectionString: `postgres://flexsecure@127.0.0.1:${port}/flexsecure`,
      connectTimeoutMs: 200,
    })
    try {
      const started = performance.now()
      await expect(storage.migrate()).rejects.toThrow(/timeout/i)
      // The timeout, not vitest's: the statement gave up on its own.
      expect(performance.now() - started).toBeLessThan(4000)
      expect(sockets.size).toBeGreaterThan(0)
    } finally {
      await storage.close()
    }
  }, 8000)

  it("takes the wait from the connection string's connect_timeout, as libpq reads it", async () => {
    const port = await silentServer()
    // libpq takes the last one, and waits 2 s at least.
    const storage = postgresStorage({
      connectionString: `postgres://flexsecure@127.0.0.1:${port}/flexsecure?connect_timeout=30&connect_timeout=1`,
    })
    try {
      const started = performance.now()
      await expect(storage.migrate()).rejects.toThrow(/timeout/i)
      // Two seconds: not 1, nor 30, nor the default ten.
      expect(performance.now() - started).toBeGreaterThanOrEqual(1900)
      expect(performance.now() - started).toBeLessThan(6000)
    } finally {
      await storage.close()
    }
  }, 15_000)
})

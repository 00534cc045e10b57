import { Agent, createServer, get, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { gatedRequests } from './gated-requests.js'

// A request whose client went away while it waited at the turn budget is not handled: a start would
// send a message nobody waits for, and under a flood clients that time out and retry multiply the load
// (found by review, 2026-12-06: 998 of 1,000 starts ran after their client had gone).

let server: Server | undefined
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

/** Busy for `ms` on the event loop: a request handler's CPU. */
const spin = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe('gated requests', () => {
  it('does not handle a request whose client went away while it waited', async () => {
    let handled = 0
    // One request a check phase (a budget of next to nothing), each 2 ms of work.
    const requests = gatedRequests(() => {
      handled += 1
      spin(2)
      return new Response('{"result":"pending"}')
    }, 1e-9)
    server = createServer(requests.listener)
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const socket = connect(port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const total = 60
    socket.write('GET /v1/check HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(total))
    // Gone after its first answer: the rest wait at the gate, one let through a turn.
    await new Promise((resolve) => socket.once('data', resolve))
    socket.destroy()
    // Every request had reached the server: handled, or waiting at the gate.
    expect(requests.underWay + handled).toBeGreaterThanOrEqual(total)
    await vi.waitFor(() => expect(requests.underWay).toBe(0))
    expect(handled).toBeGreaterThan(0)
    expect(handled).toBeLessThan(total / 2)
  })

  it('answers 503 unhandled past its bound of requests under way, and drops the rest of a pipelined flood', async () => {
    // One connection may pipeline any number of requests, each held while it waits: it could fill the heap.
    let handled = 0
    const requests = gatedRequests(
      () => {
        handled += 1
        return new Response('{"result":"pending"}')
      },
      1e-9,
      20,
    )
    server = createServer(requests.listener)
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const socket = connect(port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    let received = ''
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1')
    })
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write('GET /v1/check HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(200))
    await closed
    expect(handled).toBeLessThanOrEqual(20)
    expect(received).toMatch(/HTTP\/1\.1 503[\s\S]*retry-after: 1[\s\S]*the server is busy/i)
    await vi.waitFor(() => expect(requests.underWay).toBe(0))
  })

  it('asks the client to close its connection when the close began while the answer waited at the gate', async () => {
    let closing: Promise<number> | undefined
    const began = performance.now()
    const requests = gatedRequests(() => {
      // The close begins in the next check phase, while this answer waits at the gate (budget spent).
      setImmediate(() => {
        closing = requests.close(server as Server, 3000).then(() => performance.now() - began)
      })
      return new Response('{"result":"pending"}')
    }, 1e-9)
    const { agent, headers } = await keptAliveGet(requests, '/v1/check')
    expect(headers.connection).toBe('close')
    // Well before the deadline: the connection ended with its answer.
    expect(await closing).toBeLessThan(1500)
    agent.destroy()
    server = undefined
  })

  it('closes a kept-alive connection whose streamed answer began before the close, once it ends', async () => {
    let end = () => {}
    const requests = gatedRequests(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('page 1\n'))
              end = () => controller.close()
            },
          }),
        ),
    )
    const { agent, headers } = await keptAliveGet(requests, '/v1/audit/export')
    // Its headers went out kept-alive, before the close began.
    expect(headers.connection).toBe('keep-alive')
    const began = performance.now()
    const closing = requests.close(server as Server, 3000).then(() => performance.now() - began)
    end()
    // Well before the deadline: the connection was closed once its answer ended.
    expect(await closing).toBeLessThan(1500)
    agent.destroy()
    server = undefined
  })
})

/** Serves `requests` on a new server, and GETs `path` on a kept-alive connection: the answer's headers. */
async function keptAliveGet(requests: ReturnType<typeof gatedRequests>, path: string) {
  const listening = createServer(requests.listener)
  server = listening
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve))
  const { port } = listening.address() as AddressInfo
  const agent = new Agent({ keepAlive: true })
  const headers = await new Promise<IncomingHttpHeaders>((resolve) =>
    get({ port, host: '127.0.0.1', agent, path }, (response) => {
      response.resume()
      resolve(response.headers)
    }),
  )
  return { agent, headers }
}

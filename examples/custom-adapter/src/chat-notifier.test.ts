import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DeliveryError, type Message } from '@flexsecure/core'
import { runNotifierConformance } from '@flexsecure/core/conformance'
import { afterEach, describe, expect, it } from 'vitest'
import { chatNotifier } from './chat-notifier.js'

// The chat notifier against a real HTTP server standing in for the chat's incoming webhook: it
// answers as Slack's does (200 `ok`, 404 `channel_not_found`, 429, 500) and records every post.

/** The chat's users, by the address the engine knows them by. */
const USERS: Record<string, string> = { 'alice@example.com': '@alice', '+14155552671': '@carol' }
const recipient = (to: string) => USERS[to] ?? null
const addressOf = (channel: string) => Object.keys(USERS).find((to) => USERS[to] === channel) ?? channel

interface Chat {
  readonly url: string
  /** The posts the webhook took, as sent. */
  readonly posts: { channel: string; text: string }[]
  close(): Promise<void>
}

/** A webhook on a free local port that answers every post with `status` and `body`. */
async function fakeChat(status = 200, body = 'ok'): Promise<Chat> {
  const posts: Chat['posts'] = []
  const server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk) => {
      text += chunk
    })
    request.on('end', () => {
      if (status === 200) posts.push(JSON.parse(text))
      response.writeHead(status, { 'content-type': 'text/plain' }).end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/T000/B000/secret`,
    posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

runNotifierConformance({
  name: 'chat webhook (examples/custom-adapter)',
  channels: ['email', 'sms'],
  open: async () => {
    const chat = await fakeChat()
    const refusing = await fakeChat(404, 'channel_not_found')
    return {
      notifier: chatNotifier({ url: chat.url, recipient }),
      refusing: chatNotifier({ url: refusing.url, recipient }),
      // The far end got a post to @alice: the destination the engine named.
      received: async () => chat.posts.map((post) => ({ to: addressOf(post.channel), text: post.text })),
      cleanup: async () => {
        await Promise.all([chat.close(), refusing.close()])
      },
    }
  },
})

describe('chatNotifier', () => {
  const message: Message = {
    channel: 'email',
    to: 'alice@example.com',
    subject: 'Sign in to payroll',
    text: '04817263 is your payroll code. Never share it.',
    kind: 'pin',
    locale: 'en',
    idempotencyKey: 'delivery-1',
  }
  const opened: Chat[] = []
  const chat = async (status?: number, body?: string) => {
    const server = await fakeChat(status, body)
    opened.push(server)
    return server
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((server) => server.close()))
  })
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) => error,
    )

  it('posts the subject and the text to the recipient, and answers no provider id', async () => {
    const server = await chat()
    expect(await chatNotifier({ url: server.url, recipient }).send(message)).toEqual({ providerId: null })
    expect(server.posts).toEqual([{ channel: '@alice', text: `Sign in to payroll\n${message.text}` }])
  })

  it.each([429, 500, 503])('fails a %i for now: the outbox tries again', async (status) => {
    const server = await chat(status, 'busy')
    const error = await failure(chatNotifier({ url: server.url, recipient }).send(message))
    expect(error).toBeInstanceOf(DeliveryError)
    expect(error).toMatchObject({ kind: 'temporary', message: `chat ${status}: busy` })
  })

  it('fails for now when the chat cannot be reached', async () => {
    const server = await chat()
    await server.close()
    opened.pop()
    const error = await failure(chatNotifier({ url: server.url, recipient }).send(message))
    expect(error).toMatchObject({ name: 'DeliveryError', kind: 'temporary' })
  })

  it('fails for good, without a request, for a destination with no chat user', async () => {
    const server = await chat()
    const error = await failure(
      chatNotifier({ url: server.url, recipient }).send({ ...message, to: 'bob@example.com' }),
    )
    expect(error).toMatchObject({ name: 'DeliveryError', kind: 'permanent' })
    expect(server.posts).toEqual([])
  })

  it('never quotes the message in a failure', async () => {
    const server = await chat(400, `invalid_payload ${message.text}`)
    const error = (await failure(chatNotifier({ url: server.url, recipient }).send(message))) as Error
    expect(error).toMatchObject({ kind: 'permanent' })
    expect(error.message).not.toContain('04817263')
  })
})

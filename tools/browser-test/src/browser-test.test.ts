import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserAvailable, launchChromium, seriousViolations } from './index.js'

const page = (body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body><main>${body}</main></body></html>`

describe.runIf(browserAvailable())('the browser kit', () => {
  let browser: Browser
  let server: Server
  let origin: string
  beforeAll(async () => {
    browser = await launchChromium()
    server = createServer((request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8')
      // The strictest policy a console page will have: no inline or eval'd script at all.
      response.setHeader('content-security-policy', "default-src 'none'; style-src 'self'")
      response.end(
        request.url === '/bad'
          ? page('<input type="text"><img src="x.png">')
          : page('<label>Name <input type="text"></label>'),
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
  })

  it('runs axe-core under a CSP without unsafe-eval and finds an unlabelled control', async () => {
    const tab = await browser.newPage()
    await tab.goto(`${origin}/bad`)
    const ids = (await seriousViolations(tab)).map((v) => v.id)
    expect(ids).toContain('label')
    expect(ids).toContain('image-alt')
    await tab.goto(`${origin}/good`)
    expect(await seriousViolations(tab)).toEqual([])
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type EngineFixture,
  engineFixture,
  TEST_SECRET,
} from '../../../../adapters/sqlite/test/engine-fixture.js'
import { createHttpApp } from '../http-handler.js'
import { openApiDocument } from '../openapi.js'
import { ROUTES } from './routes.js'

let f: EngineFixture
beforeAll(async () => {
  f = await engineFixture()
})
afterAll(async () => {
  await f.close()
})

/** `GET /v1/admin/users/{authid}` for each route the Hono app answers (middleware left out). */
function servedRoutes(): string[] {
  const app = createHttpApp({ engine: f.engine, secret: TEST_SECRET })
  const served = app.routes
    .filter((route) => route.method !== 'ALL')
    .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`)
  return [...new Set(served)].sort()
}

const tableRoutes = () => ROUTES.map((route) => `${route.method.toUpperCase()} ${route.path}`).sort()

describe('the contract’s route table', () => {
  it('names every route the server serves, and no route it does not', () => {
    expect(tableRoutes()).toEqual(servedRoutes())
  })

  it('is what the OpenAPI document describes, route for route', () => {
    const documented = Object.entries(openApiDocument().paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(documented.sort()).toEqual(servedRoutes())
  })

  it('refers only to shapes the document defines', () => {
    const document = openApiDocument()
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map(
      ([, id]) => id,
    )
    expect(refs.length).toBeGreaterThan(50)
    for (const id of new Set(refs)) expect(Object.keys(document.components.schemas)).toContain(id)
  })

  it('describes the readiness probe and the operator routes, with their answers', () => {
    const { paths } = openApiDocument()
    expect(paths['/readyz']?.get).toMatchObject({
      security: [],
      responses: {
        '503': { content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } },
      },
    })
    expect(paths['/v1/operator/accounts']?.post).toMatchObject({
      security: [{ operatorKey: [] }],
      responses: {
        '201': {
          content: { 'application/json': { schema: { $ref: '#/components/schemas/CreatedAccount' } } },
        },
      },
    })
  })
})

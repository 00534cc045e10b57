import type { z } from 'zod'
import { contractJsonSchemas, ROUTES, type Route } from './contract/index.js'
import { nameOf } from './contract/registry.js'

// The OpenAPI 3.1 document, generated from the contract: the route table and the very schemas that
// validate requests. Nothing here describes a route or a shape by hand.

const COMPONENT = '#/components/schemas/'

/** A `$ref` to a named shape; every shape the table uses is named. */
function ref(schema: z.ZodType): { $ref: string } {
  const id = nameOf(schema)?.id
  if (!id) throw new Error('the contract uses a shape it has not named')
  return { $ref: `${COMPONENT}${id}` }
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: ref(schema) } })
const schemas = contractJsonSchemas((id) => `${COMPONENT}${id}`)
/** A request body written out in place (as well as in the components), so a reader sees it at once. */
const inline = (schema: z.ZodType) => ({
  'application/json': { schema: schemas[ref(schema).$ref.slice(COMPONENT.length)] },
})

const SECURITY: Record<Route['access'], unknown[]> = {
  public: [],
  auth: [{ apikey: [] }],
  admin: [{ apikey: [] }],
  operator: [{ operatorKey: [] }],
  'admin or operator': [{ apikey: [] }, { operatorKey: [] }],
}

function operation(route: Route) {
  const parameters = [
    ...[...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    })),
    ...Object.entries(route.query ?? {}).map(([name, description]) => ({
      name,
      in: 'query',
      required: false,
      description,
      schema: { type: 'string' },
    })),
  ]
  return {
    summary: route.summary,
    security: SECURITY[route.access],
    ...(parameters.length ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, content: inline(route.body) } } : {}),
    responses: Object.fromEntries(
      Object.entries(route.answers).map(([status, answer]) => [
        status,
        typeof answer === 'string'
          ? { description: answer }
          : {
              description: nameOf(answer)?.description ?? '',
              content: json(answer),
            },
      ]),
    ),
  }
}

/** The document served at `/v1/openapi.json`. */
export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of ROUTES as readonly Route[]) {
    paths[route.path] ??= {}
    ;(paths[route.path] as Record<string, unknown>)[route.method] = operation(route)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'FlexSecure API',
      version: '1.0.0',
      description: 'Passwordless authentication: start a login, then poll check.',
    },
    components: {
      securitySchemes: {
        apikey: { type: 'apiKey', in: 'header', name: 'apikey' },
        operatorKey: {
          type: 'apiKey',
          in: 'header',
          name: 'apikey',
          description: 'an operator key, `fso_…`',
        },
      },
      schemas,
    },
    security: [{ apikey: [] }],
    paths,
  }
}

import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { contractJsonSchemas } from '@flexsecure/http/contract'
import { compile, type JSONSchema } from 'json-schema-to-typescript'

// Writes `contract-types.ts`: the client's request and answer types, generated from the JSON Schemas of
// `@flexsecure/http/contract` (the ones the OpenAPI document holds). Generated rather than imported so
// that the published client depends on neither zod nor the server; `contract-types.test.ts` fails when
// the file is older than the contract. Run `pnpm --filter @flexsecure/client generate` after a change.

/** Where the generated types live. */
export const CONTRACT_TYPES_FILE = fileURLToPath(new URL('./contract-types.ts', import.meta.url))

const BANNER = `// Generated from @flexsecure/http/contract by \`pnpm --filter @flexsecure/client generate\`; do not edit.
// The shapes of FlexSecure's HTTP API as they travel: dates are ISO 8601 strings.
`

/** The text of `contract-types.ts` for the contract as it is now. */
export async function renderContractTypes(): Promise<string> {
  const schemas = contractJsonSchemas((id) => `#/definitions/${id}`)
  const definitions = Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => [id, { ...schema, title: id }]),
  )
  const root = { title: 'Contract', type: 'object', additionalProperties: false, definitions }
  const text = await compile(root as JSONSchema, 'Contract', {
    bannerComment: '',
    unreachableDefinitions: true,
    additionalProperties: false,
    style: { singleQuote: true, semi: false, printWidth: 110, trailingComma: 'all' },
  })
  const body = text
    // The generator's note on where each type came from says nothing a reader of this file needs.
    .replace(
      /\n \*\n \* This interface was referenced by `Contract`'s JSON-Schema\n \* via the `definition` "\w+"\./g,
      '',
    )
    .replace(
      /\/\*\*\n \* This interface was referenced by `Contract`'s JSON-Schema\n \* via the `definition` "\w+"\.\n \*\/\n/g,
      '',
    )
    .replace(/export interface Contract \{\}\n/, '')
  return `${BANNER}\n${body.trim()}\n`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  writeFileSync(CONTRACT_TYPES_FILE, await renderContractTypes())

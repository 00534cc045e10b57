// Almost-valid JSON bodies for the fuzz test: a valid body with exactly one thing wrong, anywhere in it.

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const CONTROL = ['\u0000', '\r\n', '\u0000', '\u0007', '\u0085', '\u007f', '\ud800', '\u202e', '\t']
const IDENTIFIERS = ['system', 'authid', 'challengeId', 'pin', 'method', 'scopes']
const WRONG: Json[] = [null, 7, -1, 1.5, 1e308, -0, true, [], {}, 'x'.repeat(300), '', [1, [2, [3]]]]

/** Every place in `value` below the root, as a path of keys. */
function places(value: Json, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return []
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, i) => [i, item])
    : Object.entries(value)
  return entries.flatMap(([key, item]) => [[...path, key], ...places(item, [...path, key])])
}

const at = (value: Json, path: (string | number)[]): Json =>
  path.reduce<Json>((here, key) => (here as Record<string | number, Json>)[key] as Json, value)

/** `value` with what is at `path` replaced by what `change` makes of it. */
function replaceAt(value: Json, path: (string | number)[], change: (old: Json) => Json): Json {
  if (path.length === 0) return change(value)
  const [head, ...rest] = path as [string | number, ...(string | number)[]]
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaceAt(item, rest, change) : item))
  if (typeof value === 'object' && value !== null)
    return { ...value, [head]: replaceAt(value[head as string] as Json, rest, change) }
  return value
}

/** `body` with one thing wrong; `how` chooses what, `pick` where and with what. */
export function mutateJson(body: Json, how: number, pick: number): string {
  const text = JSON.stringify(body)
  const all = places(body)
  const place = all[pick % Math.max(1, all.length)] ?? ['system']
  const strings = all.filter((path) => typeof at(body, path) === 'string')
  // Names and ids were always checked; free text (context, display names, key names) is where a
  // control character used to reach the database, so it is chosen two times in three.
  const freeText = strings.filter((path) => !IDENTIFIERS.includes(String(path.at(-1))))
  const targets = freeText.length > 0 && pick % 3 !== 0 ? freeText : strings
  const control = CONTROL[(pick >> 2) % CONTROL.length] as string
  // Control characters are what databases disagree on: five chances in thirteen.
  switch (how % 13) {
    case 0: // a field missing
      return JSON.stringify(replaceAt(body, place.slice(0, -1), (parent) => without(parent, place.at(-1))))
    case 1: // a field too many
      return JSON.stringify(replaceAt(body, place.slice(0, -1), (parent) => withExtra(parent)))
    case 2: // a value of the wrong type or size, at any depth
      return JSON.stringify(replaceAt(body, place, () => WRONG[pick % WRONG.length] as Json))
    case 3:
    case 4:
    case 5: {
      // a control character inside one of its strings
      const path = targets[(pick >> 4) % Math.max(1, targets.length)] ?? place
      return JSON.stringify(
        replaceAt(body, path, (old) => {
          const s = String(old)
          const cut = pick % (s.length + 1)
          return `${s.slice(0, cut)}${control}${s.slice(cut)}`
        }),
      )
    }
    case 6: // a key with a control character, in a record where there is one
      return JSON.stringify(
        replaceAt(
          body,
          all.find((path) => ['context', 'attributes'].includes(String(path.at(-1)))) ?? [],
          (old) =>
            typeof old === 'object' && old !== null && !Array.isArray(old)
              ? { ...old, [`k${control}`]: 'x' }
              : old,
        ),
      )
    case 7: // a prototype key
      return `{"__proto__":{"admin":true},${text.slice(1)}`
    case 8: // cut short
      return text.slice(0, Math.max(1, pick % text.length))
    case 9: // wrapped in an array
      return `[${text}]`
    case 10: // one level deeper than it should be
      return JSON.stringify(replaceAt(body, place, (old) => ({ nested: old })))
    case 11: // the same control character in every free-text string, so one reaches storage
      return JSON.stringify(
        freeText.reduce(
          (changed, path) => replaceAt(changed, path, (old) => `${String(old)}${control}`),
          body,
        ),
      )
    default: // a trailing comma
      return text.replace(/[}\]]$/, ',$&')
  }
}

function without(parent: Json, key: string | number | undefined): Json {
  if (Array.isArray(parent)) return parent.filter((_, i) => i !== key)
  if (typeof parent !== 'object' || parent === null) return parent
  const { [String(key)]: _dropped, ...rest } = parent
  return rest
}

function withExtra(parent: Json): Json {
  if (Array.isArray(parent)) return [...parent, 'extra']
  if (typeof parent !== 'object' || parent === null) return parent
  return { ...parent, unexpected: true }
}

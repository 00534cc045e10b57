import { isIP } from 'node:net'

// CIDR ranges and client addresses as numbers, for the rules' `ipIn` and `ipNotIn`: a range is parsed
// once when its rule set is compiled, an address once per decision, and matching is a mask and compare.

/** A CIDR range as numbers: IPv4 in a 32-bit number, IPv6 in a bigint. */
export type Range =
  | { readonly v4: true; readonly base: number; readonly mask: number }
  | { readonly v4: false; readonly base: bigint; readonly mask: bigint }

/** A parsed client address; parsed once per decision, compared against every range as numbers. */
export type Address =
  | { readonly v4: true; readonly value: number }
  | { readonly v4: false; readonly value: bigint }

function parseV4(text: string): number {
  const parts = text.split('.')
  return (
    ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0
  )
}

function parseV6(text: string): bigint {
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  let body = text
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body)
  if (v4) {
    const n = parseV4(v4[1] as string)
    body = `${body.slice(0, -(v4[1] as string).length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const [head = '', tail] = body.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  let value = 0n
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group || '0', 16))
  return value
}

const MAPPED = 0xffffn

export function parseAddress(raw: string): Address | null {
  // A zone id (fe80::1%eth0) names an interface, not part of the address.
  const text = raw.split('%')[0] as string
  const family = isIP(text)
  if (family === 4) return { v4: true, value: parseV4(text) }
  if (family !== 6) return null
  const value = parseV6(text)
  // An IPv4-mapped IPv6 address, however written, is the IPv4 address it maps.
  return value >> 32n === MAPPED ? { v4: true, value: Number(value & 0xffffffffn) } : { v4: false, value }
}

export function parseRange(cidr: string): Range {
  const [address = '', bits] = cidr.split('/')
  if (isIP(address) === 4) {
    const prefix = bits === undefined ? 32 : Number(bits)
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
    return { v4: true, base: (parseV4(address) & mask) >>> 0, mask }
  }
  const prefix = BigInt(bits === undefined ? 128 : Number(bits))
  const mask = ((1n << 128n) - 1n) ^ ((1n << (128n - prefix)) - 1n)
  const base = parseV6(address) & mask
  // ::ffff:10.0.0.0/104 is the IPv4 range 10.0.0.0/8, as the addresses it holds are matched as IPv4.
  if (prefix >= 96n && base >> 32n === MAPPED)
    return parseRange(`${v4Text(Number(base & 0xffffffffn))}/${Number(prefix) - 96}`)
  return { v4: false, base, mask }
}

const v4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')

export function inRanges(address: Address, ranges: readonly Range[]): boolean {
  for (const range of ranges) {
    if (range.v4 !== address.v4) continue
    if (
      range.v4
        ? ((address.value as number) & range.mask) >>> 0 === range.base
        : ((address.value as bigint) & range.mask) === range.base
    )
      return true
  }
  return false
}

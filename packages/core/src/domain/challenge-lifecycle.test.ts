import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { LIVE, MOVES, transitionTo } from './challenge-lifecycle.js'

/** The moves table of docs/architecture.md's "How a login moves": name → from, to and operation. */
function documentedMoves(): Record<string, { from: string[]; to: string; by: string }> {
  const doc = readFileSync(new URL('../../../../docs/architecture.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('## How a login moves'))
  const body = section.slice(0, section.indexOf('\n## ', 1))
  const moves: Record<string, { from: string[]; to: string; by: string }> = {}
  for (const line of body.split('\n')) {
    const cells = /^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| `(\w+)`/.exec(line)
    if (!cells) continue
    const [, name, from, to, by] = cells as unknown as [string, string, string, string, string]
    moves[name] = { from: from.split(',').map((s) => s.trim()), to: to.trim(), by }
  }
  return moves
}

describe('the challenge lifecycle', () => {
  it('is the table docs/architecture.md shows under "How a login moves", move for move', () => {
    const inCode = Object.fromEntries(
      Object.entries(MOVES).map(([name, move]) => [name, { from: [...move.from], to: move.to, by: move.by }]),
    )
    const documented = documentedMoves()
    expect(Object.keys(documented).length).toBeGreaterThan(10)
    expect(documented).toEqual(inCode)
  })

  it('never moves a challenge out of an ended state into another one', () => {
    const ended = ['authenticated', 'failed', 'expired', 'superseded']
    for (const [name, move] of Object.entries(MOVES))
      for (const from of move.from)
        if (ended.includes(from)) expect({ name, to: move.to }).toEqual({ name, to: from })
  })

  it('is what every move in the engine names: no call of transitionChallenge spells its own states', () => {
    const spelled: string[] = []
    for (const layer of ['login', 'admin', 'outbox', 'policy']) {
      const dir = new URL(`../${layer}/`, import.meta.url)
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
        const text = readFileSync(new URL(file, dir), 'utf8')
        for (const call of text.matchAll(/transitionChallenge\(\s*([^,]*)/g))
          if (!call[1]?.startsWith('transitionTo(')) spelled.push(`${layer}/${file}: ${call[1]}`)
      }
    }
    expect(spelled).toEqual([])
  })

  it('supersedes and expires only live challenges', () => {
    expect(MOVES.supersede.from).toEqual(LIVE)
    expect(MOVES.sweepExpired.from).toEqual(LIVE)
    expect(MOVES.expireOnCheck.from).toEqual(LIVE)
  })

  it('builds the conditional write of a named move, resetting attempts only when a layer passed', () => {
    expect(transitionTo('burnOneTimePin', 'c1', 5)).toEqual({
      id: 'c1',
      from: ['pending'],
      to: 'failed',
      at: 5,
      reported: true,
    })
    expect(transitionTo('passOneTimePin', 'c1', 5)).toEqual({
      id: 'c1',
      from: ['pending'],
      to: 'confirmed',
      at: 5,
      reported: false,
      resetAttempts: true,
    })
  })
})

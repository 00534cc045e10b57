import { describe, expect, it } from 'vitest'
import {
  type Decision,
  decide,
  type PolicyInput,
  type Rule,
  type RuleConditions,
  validateRules,
} from './rules.js'

// Monday 2026-01-05 09:30 in Berlin (08:30 UTC).
const MONDAY_0930_BERLIN = Date.UTC(2026, 0, 5, 8, 30)
const DAY = 86_400_000

const input = (fields: Partial<PolicyInput> = {}, user: Partial<PolicyInput['user']> = {}): PolicyInput => ({
  system: { name: 'payroll', sensitivity: 'medium' },
  user: {
    authid: 'alice',
    attributes: { department: 'finance', level: 3, contractor: false },
    failureStreak: 0,
    lastSuccessAt: MONDAY_0930_BERLIN - 2 * DAY,
    hasMemorizedPin: true,
    ...user,
  },
  context: { ip: '203.0.113.9', resource: 'salaries', action: 'export', deviceId: 'd1', sensitivity: 'low' },
  knownDevice: true,
  now: MONDAY_0930_BERLIN,
  ...fields,
})
const base = { method: 'passwordless' as const, lifetimeSeconds: 600, attempts: 5 }
const run = (rules: Rule[], at: PolicyInput = input(), predicates = {}) =>
  decide(validateRules(rules, new Set(Object.keys(predicates))), base, at, predicates)
const matchesWhen = (when: RuleConditions, at: PolicyInput = input(), predicates = {}) =>
  run([{ name: 'r', when, effect: { numberMatching: true } }], at, predicates).numberMatching

describe('each condition matches and does not match', () => {
  const office = ['203.0.113.0/24', '2001:db8::/32']
  const berlinHours = {
    timeZone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    from: '08:00',
    to: '18:00',
  } as const
  const cases: [string, RuleConditions, PolicyInput, boolean][] = [
    ['ip in range', { ipIn: office }, input(), true],
    ['ip in an IPv6 range', { ipIn: office }, input({ context: { ip: '2001:db8::1' } }), true],
    ['ip outside the ranges', { ipIn: office }, input({ context: { ip: '198.51.100.1' } }), false],
    ['no ip is never inside', { ipIn: office }, input({ context: {} }), false],
    [
      'an IPv4-mapped IPv6 address, dotted',
      { ipIn: office },
      input({ context: { ip: '::ffff:203.0.113.9' } }),
      true,
    ],
    [
      'an IPv4-mapped IPv6 address, in hex',
      { ipIn: office },
      input({ context: { ip: '0:0:0:0:0:ffff:cb00:7109' } }),
      true,
    ],
    ['an IPv4 address against a mapped range', { ipIn: ['::ffff:203.0.113.0/120'] }, input(), true],
    [
      'a zone id is not part of the address',
      { ipIn: ['fe80::/10'] },
      input({ context: { ip: 'fe80::1%eth0' } }),
      true,
    ],
    ['::1 against ::/0', { ipIn: ['::/0'] }, input({ context: { ip: '::1' } }), true],
    [
      'an address that is not an IP is outside',
      { ipIn: ['0.0.0.0/0'] },
      input({ context: { ip: 'localhost' } }),
      false,
    ],
    ['ip not in the ranges', { ipNotIn: office }, input({ context: { ip: '198.51.100.1' } }), true],
    ['ip in the excluded ranges', { ipNotIn: office }, input(), false],
    ['no ip counts as outside', { ipNotIn: office }, input({ context: {} }), true],
    ['inside office hours in Berlin', { timeIn: berlinHours }, input(), true],
    [
      'before office hours in Berlin (07:59)',
      { timeIn: berlinHours },
      input({ now: MONDAY_0930_BERLIN - 91 * 60_000 }),
      false,
    ],
    [
      'at the end of office hours (18:00, excluded)',
      { timeIn: berlinHours },
      input({ now: MONDAY_0930_BERLIN + 510 * 60_000 }),
      false,
    ],
    ['on a Sunday', { timeIn: berlinHours }, input({ now: MONDAY_0930_BERLIN - DAY }), false],
    ['outside office hours', { timeNotIn: berlinHours }, input({ now: MONDAY_0930_BERLIN - DAY }), true],
    [
      'a window across midnight (22:00–06:00) at 23:00',
      { timeIn: { timeZone: 'UTC', from: '22:00', to: '06:00' } },
      input({ now: Date.UTC(2026, 0, 5, 23) }),
      true,
    ],
    [
      'a window across midnight at 12:00',
      { timeIn: { timeZone: 'UTC', from: '22:00', to: '06:00' } },
      input({ now: Date.UTC(2026, 0, 5, 12) }),
      false,
    ],
    ['system sensitivity reaches the tier', { sensitivityAtLeast: 'medium' }, input(), true],
    ['system sensitivity below the tier', { sensitivityAtLeast: 'high' }, input(), false],
    [
      'context raises the sensitivity',
      { sensitivityAtLeast: 'high' },
      input({ context: { sensitivity: 'high' } }),
      true,
    ],
    [
      'context never lowers it',
      { sensitivityAtLeast: 'medium' },
      input({ context: { sensitivity: 'low' } }),
      true,
    ],
    ['resource label', { resource: ['salaries', 'bonuses'] }, input(), true],
    ['another resource', { resource: ['bonuses'] }, input(), false],
    ['action label', { action: ['export'] }, input(), true],
    ['no action given', { action: ['export'] }, input({ context: {} }), false],
    ['new device: never seen', { newDevice: true }, input({ knownDevice: false }), true],
    ['new device: seen before', { newDevice: true }, input(), false],
    ['new device: no device id counts as new', { newDevice: true }, input({ knownDevice: null }), true],
    ['known device', { newDevice: false }, input(), true],
    ['recent failures reach the count', { failuresAtLeast: 3 }, input({}, { failureStreak: 3 }), true],
    ['recent failures below it', { failuresAtLeast: 3 }, input({}, { failureStreak: 2 }), false],
    ['days since last success reached', { daysSinceLastSuccessAtLeast: 2 }, input(), true],
    ['days since last success not reached', { daysSinceLastSuccessAtLeast: 3 }, input(), false],
    [
      'never authenticated counts as long ago',
      { daysSinceLastSuccessAtLeast: 30 },
      input({}, { lastSuccessAt: null }),
      true,
    ],
    ['user attribute equals', { userAttributes: { department: 'finance' } }, input(), true],
    ['user attribute in a list', { userAttributes: { level: [2, 3] } }, input(), true],
    ['user attribute differs', { userAttributes: { contractor: true } }, input(), false],
    ['user attribute missing', { userAttributes: { team: 'x' } }, input(), false],
    [
      'all conditions of a rule hold',
      { ipIn: office, resource: ['salaries'], sensitivityAtLeast: 'low' },
      input(),
      true,
    ],
    ['one of several conditions fails', { ipIn: office, resource: ['bonuses'] }, input(), false],
    ['no conditions: always', {}, input(), true],
  ]
  for (const [name, when, at, expected] of cases)
    it(`${name} → ${expected ? 'matches' : 'does not match'}`, () =>
      expect(matchesWhen(when, at)).toBe(expected))

  it('custom predicates registered in code, and an unregistered name never matches', () => {
    const predicates = { vip: (i: PolicyInput) => i.user.attributes.level === 3, never: () => false }
    expect(matchesWhen({ custom: ['vip'] }, input(), predicates)).toBe(true)
    expect(matchesWhen({ custom: ['vip', 'never'] }, input(), predicates)).toBe(false)
    // Validation refuses the name; a rule stored before the predicate was unregistered does not match.
    expect(() =>
      validateRules([{ name: 'r', when: { custom: ['gone'] }, effect: { deny: true } }], new Set()),
    ).toThrow(expect.objectContaining({ field: 'rules[0].when.custom' }))
    const stored = validateRules([{ name: 'r', when: { custom: ['gone'] }, effect: { deny: true } }])
    expect(decide(stored, base, input(), {}).denied).toBe(false)
  })
})

describe('each effect, and it never weakens', () => {
  const one = (effect: Rule['effect']) => run([{ name: 'r', effect }])
  const plain: Omit<Decision, 'matched' | 'sensitivity' | 'reason'> = {
    denied: false,
    layers: ['passwordless'],
    channel: null,
    lifetimeSeconds: 600,
    attempts: 5,
    numberMatching: false,
  }
  const cases: [string, Rule['effect'], Partial<Decision>][] = [
    ['deny', { deny: true }, { denied: true, reason: "denied by rule 'r'" }],
    ['memorized PIN layer', { requireMemorizedPin: true }, { layers: ['passwordless', 'memorized_pin'] }],
    ['channel', { channel: 'sms' }, { channel: 'sms' }],
    ['shorter lifetime', { maxLifetimeSeconds: 120 }, { lifetimeSeconds: 120 }],
    ['fewer attempts', { maxAttempts: 2 }, { attempts: 2 }],
    ['number matching', { numberMatching: true }, { numberMatching: true }],
  ]
  for (const [name, effect, expected] of cases)
    it(name, () =>
      expect(one(effect)).toMatchObject({
        ...plain,
        ...expected,
        matched: [{ rule: 'r', because: ['always'] }],
      }),
    )

  it('never lengthens the lifetime or raises the attempts beyond the policy', () => {
    const decision = decide(
      validateRules([{ name: 'r', effect: { maxLifetimeSeconds: 600, maxAttempts: 5 } }]),
      { method: 'pin', lifetimeSeconds: 300, attempts: 3 },
      input(),
    )
    expect(decision).toMatchObject({ lifetimeSeconds: 300, attempts: 3, layers: ['pin'] })
  })

  it('denies when a memorized PIN is required and the user has none', () => {
    expect(
      run([{ name: 'r', effect: { requireMemorizedPin: true } }], input({}, { hasMemorizedPin: false })),
    ).toMatchObject({
      denied: true,
      reason: 'a memorized PIN is required and the user has none',
    })
  })
})

describe('ordering and conflicts', () => {
  const rules: Rule[] = [
    {
      name: 'outside-office',
      when: { ipNotIn: ['10.0.0.0/8'] },
      effect: { channel: 'sms', maxLifetimeSeconds: 300 },
    },
    {
      name: 'finance',
      when: { userAttributes: { department: 'finance' } },
      effect: { channel: 'email', maxLifetimeSeconds: 120, requireMemorizedPin: true },
    },
    {
      name: 'exports',
      when: { action: ['export'] },
      effect: { maxLifetimeSeconds: 240, numberMatching: true },
    },
  ]

  it('applies every matching rule: the first channel wins, the shortest lifetime wins, layers add up', () => {
    expect(run(rules)).toMatchObject({
      channel: 'sms',
      lifetimeSeconds: 120,
      layers: ['passwordless', 'memorized_pin'],
      numberMatching: true,
      matched: [
        { rule: 'outside-office', because: ['ip 203.0.113.9 not in 10.0.0.0/8'] },
        { rule: 'finance', because: ['user department = finance'] },
        { rule: 'exports', because: ['action export'] },
      ],
    })
  })

  it('changes which channel wins when the rules are reordered', () => {
    expect(run([rules[1] as Rule, rules[0] as Rule]).channel).toBe('email')
  })

  it('denies when any matching rule denies, whatever the others allow, and names the first', () => {
    const decision = run([
      ...rules,
      {
        name: 'night',
        when: { timeIn: { timeZone: 'UTC', from: '00:00', to: '12:00' } },
        effect: { deny: true },
      },
      { name: 'also', effect: { deny: true } },
    ])
    expect(decision).toMatchObject({ denied: true, reason: "denied by rule 'night'" })
    expect(decision.matched.map((m) => m.rule)).toEqual([
      'outside-office',
      'finance',
      'exports',
      'night',
      'also',
    ])
  })

  it('leaves the base untouched when nothing matches', () => {
    expect(run(rules, input({ context: { ip: '10.1.2.3' } }, { attributes: {} }))).toMatchObject({
      denied: false,
      layers: ['passwordless'],
      channel: null,
      lifetimeSeconds: 600,
      matched: [],
    })
  })
})

describe('validateRules', () => {
  it('refuses malformed rules, naming the field', () => {
    const cases: [unknown, string][] = [
      [{}, 'rules'],
      [[{ name: '', effect: { deny: true } }], 'rules[0].name'],
      [[{ name: 'a', effect: {} }], 'rules[0].effect'],
      [[{ name: 'a', effect: { deny: false } }], 'rules[0].effect.deny'],
      [[{ name: 'a', effect: { weaken: true } }], 'rules[0].effect.weaken'],
      [[{ name: 'a', when: { ipIn: ['300.0.0.0/8'] }, effect: { deny: true } }], 'rules[0].when.ipIn[0]'],
      [[{ name: 'a', when: { ipIn: ['10.0.0.0/33'] }, effect: { deny: true } }], 'rules[0].when.ipIn[0]'],
      [[{ name: 'a', when: { ipIn: ['fe80::%eth0/64'] }, effect: { deny: true } }], 'rules[0].when.ipIn[0]'],
      [
        [{ name: 'a', when: { timeIn: { timeZone: 'Mars/Base' } }, effect: { deny: true } }],
        'rules[0].when.timeIn.timeZone',
      ],
      [
        [{ name: 'a', when: { timeIn: { timeZone: 'UTC', from: '25:00' } }, effect: { deny: true } }],
        'rules[0].when.timeIn.from',
      ],
      [[{ name: 'a', when: { colour: 'red' } }], 'rules[0].when.colour'],
      [[{ name: 'a', effect: { maxLifetimeSeconds: 3600 } }], 'rules[0].effect.maxLifetimeSeconds'],
      [[{ name: 'a', effect: { channel: 'fax' } }], 'rules[0].effect.channel'],
      [
        [
          { name: 'a', effect: { deny: true } },
          { name: 'a', effect: { deny: true } },
        ],
        'rules[1].name',
      ],
    ]
    for (const [rules, field] of cases)
      expect(() => validateRules(rules), field).toThrow(expect.objectContaining({ field }))
  })
})

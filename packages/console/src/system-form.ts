import type { Channel, Rule, RuleConditions, RuleEffect, SystemInput, TimeWindow } from '@flexsecure/core'
import { type Form, FormError, listField, parseKeyValues, wholeField } from './console-context.js'

// Forms of the systems screen, turned into what `systems.create` and `systems.update` take. The
// controls are named as the engine names its fields (`policies.pin.attempts`), so a ValidationError
// lands beside the control that caused it. The engine validates; this only reads the form.

/** The channel orders a method's select offers: the first is preferred. */
export const CHANNEL_ORDERS: readonly (readonly [string, string])[] = [
  ['email', 'Email only'],
  ['sms', 'SMS only'],
  ['email,sms', 'Email, else SMS'],
  ['sms,email', 'SMS, else email'],
]

/** The form's policies, sensitivity, return URL and message overrides. */
export function systemChanges(form: Form): Omit<SystemInput, 'name'> {
  const method = (name: 'passwordless' | 'pin') => {
    const channels = (form.get(`policies.${name}.channels`) ?? 'email').split(',') as Channel[]
    const lifetimeSeconds = wholeField(form, `policies.${name}.lifetimeSeconds`)
    return {
      enabled: form.has(`policies.${name}.enabled`),
      channels,
      ...(lifetimeSeconds !== undefined ? { lifetimeSeconds } : {}),
    }
  }
  // One URL per line: a URL may hold a comma, so lines alone separate them.
  const returnUrls = (form.get('policies.passwordless.returnUrls') ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
  const pinLength = wholeField(form, 'policies.pin.pinLength')
  const attempts = wholeField(form, 'policies.pin.attempts')
  const returnUrl = (form.get('returnUrl') ?? '').trim()
  const messages = (form.get('messages') ?? '').trim()
  return {
    sensitivity: (form.get('sensitivity') ?? 'medium') as SystemInput['sensitivity'] & string,
    policies: {
      passwordless: { ...method('passwordless'), returnUrls },
      pin: {
        ...method('pin'),
        ...(pinLength !== undefined ? { pinLength } : {}),
        ...(attempts !== undefined ? { attempts } : {}),
      },
    },
    returnUrl: returnUrl === '' ? null : returnUrl,
    messages: messages === '' ? null : parseJson(messages, 'messages'),
  }
}

/** JSON typed into a textarea; a syntax error names the field. */
export function parseJson(text: string, field: string): never {
  try {
    return JSON.parse(text) as never
  } catch (error) {
    throw new FormError([{ field, message: `${field}: is not valid JSON (${(error as Error).message})` }])
  }
}

/** One rule from the "add a rule" form; its fields are named as a rule's (`when.ipIn`, `effect.deny`). */
export function ruleFromForm(form: Form): Rule {
  const when: Record<string, unknown> = {}
  const lists = ['ipIn', 'ipNotIn', 'action', 'resource'] as const
  for (const key of lists) {
    const values = listField(form, `when.${key}`)
    if (values.length > 0) when[key] = values
  }
  const sensitivity = form.get('when.sensitivityAtLeast')
  if (sensitivity) when.sensitivityAtLeast = sensitivity
  const device = form.get('when.newDevice')
  if (device === 'new') when.newDevice = true
  if (device === 'known') when.newDevice = false
  for (const key of ['failuresAtLeast', 'daysSinceLastSuccessAtLeast'] as const) {
    const value = wholeField(form, `when.${key}`)
    if (value !== undefined) when[key] = value
  }
  const attributes = form.get('when.userAttributes')
  if (attributes?.trim()) when.userAttributes = parseKeyValues(attributes, 'when.userAttributes')
  const custom = listField(form, 'when.custom')
  if (custom.length > 0) when.custom = custom
  const timeMode = form.get('when.time')
  const windowGiven =
    form.all('time.days').length > 0 || Boolean(form.get('time.from')?.trim() || form.get('time.to')?.trim())
  // Days or hours under "Any time" would be dropped, and the rule would hold always: a deny rule would
  // refuse every login.
  if (windowGiven && timeMode !== 'timeIn' && timeMode !== 'timeNotIn')
    throw new FormError([
      {
        field: 'when.time',
        message:
          'when.time: days or hours are filled in, but Time is "Any time": choose within or outside them, or clear them',
      },
    ])
  if (timeMode === 'timeIn' || timeMode === 'timeNotIn') {
    const window: Record<string, unknown> = { timeZone: (form.get('time.timeZone') ?? '').trim() || 'UTC' }
    const days = form.all('time.days')
    if (days.length > 0) window.days = days
    const from = form.get('time.from')?.trim()
    const to = form.get('time.to')?.trim()
    if (from) window.from = from
    if (to) window.to = to
    when[timeMode] = window as unknown as TimeWindow
  }
  const effect: Record<string, unknown> = {}
  for (const key of ['deny', 'requireMemorizedPin', 'numberMatching'] as const)
    if (form.has(`effect.${key}`)) effect[key] = true
  const channel = form.get('effect.channel')
  if (channel) effect.channel = channel
  for (const key of ['maxLifetimeSeconds', 'maxAttempts'] as const) {
    const value = wholeField(form, `effect.${key}`)
    if (value !== undefined) effect[key] = value
  }
  return {
    name: (form.get('rule.name') ?? '').trim(),
    ...(Object.keys(when).length > 0 ? { when: when as RuleConditions } : {}),
    effect: effect as RuleEffect,
  }
}

/** A rule in one line for people: `when ip not in 203.0.113.0/24 · then require memorized PIN`. */
export function describeRule(rule: Rule): { conditions: string; effects: string } {
  const when = rule.when ?? {}
  const parts: string[] = []
  const window = (w: TimeWindow) =>
    `${w.days?.join(', ') ?? 'every day'} ${w.from ?? '00:00'}–${w.to ?? '24:00'} (${w.timeZone})`
  if (when.ipIn) parts.push(`IP in ${when.ipIn.join(', ')}`)
  if (when.ipNotIn) parts.push(`IP not in ${when.ipNotIn.join(', ')}`)
  if (when.timeIn) parts.push(`time within ${window(when.timeIn)}`)
  if (when.timeNotIn) parts.push(`time outside ${window(when.timeNotIn)}`)
  if (when.sensitivityAtLeast) parts.push(`sensitivity at least ${when.sensitivityAtLeast}`)
  if (when.resource) parts.push(`resource is ${when.resource.join(' or ')}`)
  if (when.action) parts.push(`action is ${when.action.join(' or ')}`)
  if (when.newDevice !== undefined) parts.push(when.newDevice ? 'device never seen' : 'device seen before')
  if (when.failuresAtLeast !== undefined) parts.push(`at least ${when.failuresAtLeast} failures in a row`)
  if (when.daysSinceLastSuccessAtLeast !== undefined)
    parts.push(`${when.daysSinceLastSuccessAtLeast}+ days since the last login`)
  if (when.userAttributes)
    parts.push(
      `user ${Object.entries(when.userAttributes)
        .map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(' or ') : String(v)}`)
        .join(', ')}`,
    )
  if (when.custom) parts.push(`custom: ${when.custom.join(', ')}`)
  const effect = rule.effect
  const effects: string[] = []
  if (effect.deny) effects.push('deny')
  if (effect.requireMemorizedPin) effects.push('require the memorized PIN')
  if (effect.numberMatching) effects.push('number matching')
  if (effect.channel) effects.push(`send by ${effect.channel}`)
  if (effect.maxLifetimeSeconds !== undefined) effects.push(`lifetime at most ${effect.maxLifetimeSeconds} s`)
  if (effect.maxAttempts !== undefined) effects.push(`at most ${effect.maxAttempts} attempts`)
  return { conditions: parts.length > 0 ? parts.join('; ') : 'always', effects: effects.join('; ') }
}

/** The context typed into the "try it" panel (`key=value` lines). */
export const contextFromText = (text: string | undefined) => parseKeyValues(text, 'context')

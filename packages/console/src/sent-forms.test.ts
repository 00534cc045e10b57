import { describe, expect, it } from 'vitest'
import { sentForms } from './sent-forms.js'

describe('sentForms', () => {
  it('answers a form sent again with the name it made, until the form is an hour old', () => {
    let now = 0
    const forms = sentForms(() => now)
    expect(forms.claim('f1', 'web')).toBeNull()
    now = 3_599_999
    expect(forms.claim('f1', 'other')).toBe('web')
    now = 3_600_000
    expect(forms.claim('f1', 'other')).toBeNull()
    expect(forms.claim('f1', 'again')).toBe('other')
  })

  it('lets a released form be claimed again', () => {
    const forms = sentForms(() => 0)
    expect(forms.claim('f1', 'web')).toBeNull()
    forms.release('f1')
    expect(forms.claim('f1', 'app')).toBeNull()
    expect(forms.claim('f1', 'x')).toBe('app')
  })

  it('forgets expired forms, and past its bound the oldest, keeping the newest', () => {
    let now = 0
    const forms = sentForms(() => now, 1_000, 3)
    forms.claim('a', 'a')
    now = 10
    forms.claim('b', 'b')
    forms.claim('c', 'c')
    forms.claim('d', 'd') // past the bound: a goes
    expect(forms.size).toBe(3)
    expect(forms.claim('b', '?')).toBe('b')
    expect(forms.claim('a', 'a2')).toBeNull() // forgotten, so claimed anew (and b, now the oldest, goes)
    expect(forms.claim('c', '?')).toBe('c')
    now = 1_010
    forms.claim('e', 'e') // c, d and a2 (all claimed at 10) have expired
    expect(forms.size).toBe(1)
    expect(forms.claim('e', '?')).toBe('e')
  })
})

import type * as core from '@flexsecure/core'
import { describe, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import type * as contract from './index.js'

// The engine's types (core) and the contract's shapes describe the same answers: the server sends
// what core returns, through JSON. These checks run in `pnpm lint` (tsc): a field added to, dropped
// from or retyped in either one fails to compile until the other follows.

/** A value as JSON.stringify and JSON.parse leave it: dates as strings, nothing read-only. */
type Json<T> = T extends Date
  ? string
  : T extends readonly (infer E)[]
    ? Json<E>[]
    : T extends object
      ? { -readonly [K in keyof T]: Json<T[K]> }
      : T

/** The contract's shape of a schema, as the server sends it. */
type Wire<S extends z.ZodType> = z.output<S>

/** An answer without the hint (`error`) that the server's key check adds to a 403 when `apikey` is missing. */
type WithoutKeyHint<T> = T extends { result: 'security error' } ? Omit<T, 'error'> : T

describe('the contract and core', () => {
  it('describe the same admin answers', () => {
    // Core types a rule's effects as `boolean`; core refuses anything but `true`, which the contract says.
    expectTypeOf<Omit<Json<core.System>, 'rules'>>().toEqualTypeOf<
      Omit<Wire<typeof contract.System>, 'rules'>
    >()
    expectTypeOf<Json<core.User>>().toEqualTypeOf<Wire<typeof contract.User>>()
    expectTypeOf<Json<core.Assignment>>().toEqualTypeOf<Wire<typeof contract.Assignment>>()
    expectTypeOf<Json<core.ApiKeyInfo>>().toEqualTypeOf<Wire<typeof contract.ApiKeyInfo>>()
    expectTypeOf<Json<core.AccountSettings>>().toEqualTypeOf<Wire<typeof contract.AccountSettings>>()
    expectTypeOf<Json<core.SimulateResult>>().toEqualTypeOf<Wire<typeof contract.Simulation>>()
    expectTypeOf<Json<core.AuditEvent>>().toEqualTypeOf<Wire<typeof contract.AuditEvent>>()
    expectTypeOf<Json<core.AuditVerdict>>().toEqualTypeOf<Wire<typeof contract.AuditVerdict>>()
    expectTypeOf<Json<core.LoginStats>>().toEqualTypeOf<Wire<typeof contract.LoginStats>>()
    // These two are written differently (an intersection, an Omit) but must accept each other.
    expectTypeOf<Json<core.Overview>>().toExtend<Wire<typeof contract.Overview>>()
    expectTypeOf<Wire<typeof contract.Overview>>().toExtend<Json<core.Overview>>()
    expectTypeOf<Json<core.DeliveryInfo>>().toExtend<Wire<typeof contract.Delivery>>()
    expectTypeOf<Wire<typeof contract.Delivery>>().toExtend<Json<core.DeliveryInfo>>()
    expectTypeOf<Json<core.Account>>().toEqualTypeOf<Wire<typeof contract.Account>>()
  })

  it('describe the same login answers', () => {
    // The poll limiter in front of check adds `rate limited`, the key check a hint to `invalid_key`.
    expectTypeOf<Json<core.CheckResult> | Wire<typeof contract.RateLimited>>().toEqualTypeOf<
      WithoutKeyHint<Wire<typeof contract.CheckAnswer>>
    >()
    expectTypeOf<Json<core.SecurityReason>>().toEqualTypeOf<Wire<typeof contract.SecurityReason>>()
  })
})

import { z } from 'zod'
import * as bodies from '../schemas.js'
import { named } from './registry.js'

// The request bodies, named in the contract. The schemas themselves stay in `../schemas.ts`, where
// the routes validate with them; these are the same schemas under their contract names.

/** `POST /v1/admin/messages/preview`. */
export const PreviewBody = z.strictObject({
  locale: z.string().min(2).max(35),
  method: z.enum(['passwordless', 'pin']),
  channel: z.enum(['email', 'sms']),
  system: bodies.Name.optional(),
  /** Unsaved account message settings to preview instead of the saved ones. */
  messages: bodies.MessageSettings.optional(),
})

/** `PUT /v1/admin/console/administrators/{authid}`: give a console role, or take it away with null. */
export const ConsoleGrantBody = z.strictObject({
  role: z.enum(['admin', 'viewer']).nullable(),
  /** Creates the user with this address when there is none of that authid. */
  email: z.string().max(320).optional(),
  method: z.enum(['passwordless', 'pin']).optional(),
})

/** `POST /v1/operator/accounts`. */
export const AccountCreate = z.strictObject({ name: z.string().min(1).max(200) })

export const StartRequest = named('StartRequest', 'Who signs in where.', bodies.StartBody)
export const RedeemRequest = named(
  'RedeemRequest',
  'Same device: the completion code the return URL received.',
  bodies.RedeemBody,
)
export const CheckRequest = named('CheckRequest', 'A poll, or the PIN the user typed.', bodies.CheckBody)
export const PinAfterLoginRequest = named(
  'PinAfterLoginRequest',
  'The memorized PIN a user sets within 5 minutes of an authenticated login.',
  bodies.PinAfterLogin,
)
export const SystemCreateRequest = named('SystemCreateRequest', 'A new system.', bodies.SystemCreate)
export const SystemUpdateRequest = named(
  'SystemUpdateRequest',
  'Changes to a system; `policies` merge over the current ones.',
  bodies.SystemUpdate,
)
export const UserCreateRequest = named('UserCreateRequest', 'A new user.', bodies.UserCreate)
export const UserUpdateRequest = named(
  'UserUpdateRequest',
  'Changes to a user; `null` removes a contact point, the display name or the locale.',
  bodies.UserUpdate,
)
export const AssignRequest = named('AssignRequest', 'Systems to assign at once.', bodies.AssignBody)
export const PinSetRequest = named(
  'PinSetRequest',
  'The user’s memorized PIN, or null to clear it.',
  bodies.PinSet,
)
export const KeyCreateRequest = named('KeyCreateRequest', 'A new API key.', bodies.KeyCreate)
export const SettingsUpdateRequest = named(
  'SettingsUpdateRequest',
  'Changes to the account’s settings; unknown keys are refused by name.',
  bodies.SettingsUpdate,
)
export const PreviewRequest = named('PreviewRequest', 'What to preview.', PreviewBody)
export const ConsoleGrantRequest = named(
  'ConsoleGrantRequest',
  'A console role to give or take.',
  ConsoleGrantBody,
)
export const AccountCreateRequest = named('AccountCreateRequest', 'A new account.', AccountCreate)

// What an account and a system may set about messages, send limits and lockout; the defaults and
// validation live in policy/account-settings.ts and outbox/messages.ts.

/** Every template a locale can set. Email subjects never carry the code. */
export interface MessageTemplates {
  readonly emailLinkSubject: string
  readonly emailLinkText: string
  readonly emailLinkButton: string
  readonly emailPinSubject: string
  readonly emailPinText: string
  /** At most 160 GSM-7 characters with the PIN and app name filled in. The PIN comes first. */
  readonly smsPin: string
  readonly smsLink: string
}

export const TEMPLATE_NAMES = [
  'emailLinkSubject',
  'emailLinkText',
  'emailLinkButton',
  'emailPinSubject',
  'emailPinText',
  'smsPin',
  'smsLink',
] as const satisfies readonly (keyof MessageTemplates)[]

/** Per-account or per-system overrides of what messages say and who they come from. */
export interface MessageSettings {
  /** The name messages give the application; by default the system's name. */
  readonly appName?: string
  /** The sender's display name (the email From name). */
  readonly senderName?: string
  /** Adds the WebOTP line (`@domain #code`) to SMS PINs, so browsers on that origin can fill the code in. */
  readonly webOtpDomain?: string
  /** Template overrides by locale (`en`, `de`, `pt-BR`, …). */
  readonly templates?: Readonly<Record<string, Partial<MessageTemplates>>>
}

/** Send limits (S18): how many messages may go out, per subject and window. */
export interface SendLimits {
  readonly perUserPerHour: number
  readonly perDestinationPerHour: number
  readonly perApiKeyPerMinute: number
  readonly perAccountPerDay: number
  /** Seconds between two starts of one user on one system (a resend is a new start); 0 turns it off. */
  readonly resendCooldownSeconds: number
}

/** Growing delays after consecutive failures, and the lock (S17). */
export interface LockoutPolicy {
  /** Failures allowed before any delay (typos happen). */
  readonly freeFailures: number
  /** The first delay; each further failure doubles it, up to `maxDelaySeconds`. */
  readonly baseDelaySeconds: number
  readonly maxDelaySeconds: number
  /** Consecutive failures at which the user is locked until an administrator unlocks. */
  readonly lockAfter: number
}

export interface AccountSettings {
  /** S20: `start` answers `success` for unknown users and systems and unassigned users, sends nothing. */
  readonly uniformResponses: boolean
  readonly sendLimits: SendLimits
  readonly lockout: LockoutPolicy
  /** Days audit events are kept; `runDue` purges older ones, leaving an anchor. Null keeps everything. */
  readonly auditRetentionDays: number | null
  /** https origins a system's `returnUrl` may point at (`https://app.example.com`). */
  readonly returnOrigins: readonly string[]
  /** What messages say and who they come from, for every system (a system may override). */
  readonly messages?: MessageSettings
}

/**
 * Thrown by the admin surface when an argument is invalid; `field` names the offending input
 * (`email`, `assignments[1].system`, …) so an HTTP layer can report it as a 400.
 */
export class ValidationError extends Error {
  override readonly name: string = 'ValidationError'
  constructor(
    readonly field: string,
    /** What is wrong, without the field: for a page that shows it beside the field already. */
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`)
  }
}

/**
 * Refuses a key of `value` that is not in `known`: a mistyped key would otherwise be dropped without a
 * word (`{ passwordless: { enable: true } }` leaving the method off). The error names the key and lists
 * the valid ones, as `<noun>s` when a noun is given (`is not a setting; the settings are …`).
 */
export function refuseUnknownKeys(
  field: string,
  value: object,
  known: readonly string[],
  noun?: string,
): void {
  for (const key of Object.keys(value))
    if (!known.includes(key))
      throw new ValidationError(
        `${field}.${key}`,
        noun ? `is not a ${noun}; the ${noun}s are ${known.join(', ')}` : `is not one of ${known.join(', ')}`,
      )
}

/** Thrown when a unique name is taken (a system name, a user's authid). */
export class ConflictError extends ValidationError {
  override readonly name = 'ConflictError'
}

/** Thrown by the admin surface when a named system or user does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError'
  constructor(
    readonly entity: 'account' | 'system' | 'user',
    readonly key: string,
  ) {
    super(`${entity} not found: ${key}`)
  }
}

/**
 * The database was made with another engine secret (S33): its stored fingerprint is not one of the
 * keyring's. Starting anyway would seal a second audit chain and leave every sealed payload unopenable.
 */
export class SecretMismatchError extends Error {
  override readonly name = 'SecretMismatchError'
  constructor(
    readonly stored: string | null,
    readonly expected: string,
  ) {
    super(
      `the engine secret does not match this database (it holds ${stored ?? 'another fingerprint'}, this secret is ${expected}): start with the secret the database was made with, or, to rotate, make the new secret primary and list the old one among the previous secrets`,
    )
  }
}

/** Any failure of the storage backend (I/O, constraint, connection). The operation had no effect. */
export class StorageError extends Error {
  override readonly name = 'StorageError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * Thrown by a Notifier. `temporary` failures may succeed on retry (a 4xx SMTP reply, a timeout);
 * `permanent` ones will not (a rejected address).
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError'
  constructor(
    readonly kind: 'temporary' | 'permanent',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

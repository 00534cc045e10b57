import type { User } from '../domain/model.js'
import type { AccountHandle, Engine } from '../engine.js'
import type { Storage } from '../ports/storage.js'
import type { CaptureNotifier } from '../testing/capture-notifier.js'
import type { ManualClock } from '../testing/manual-clock.js'

/** What each console store test starts from: two accounts, an administrator and another user. */
export interface ConsoleWorld {
  readonly storage: Storage
  readonly engine: Engine
  readonly clock: ManualClock
  readonly notifier: CaptureNotifier
  /** Makes the next send wait until the returned function is called (a delivery in flight). */
  holdNextSend(): () => void
  readonly accountId: string
  readonly account: AccountHandle
  readonly otherAccountId: string
  readonly otherAccount: AccountHandle
  /** `admin@example.com`, with the console role `admin`, assigned to the console system. */
  readonly admin: User
  /** `bob`, an ordinary user. */
  readonly other: User
}

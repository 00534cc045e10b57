import type { Overview } from '@flexsecure/core'
import type { FC } from 'hono/jsx'
import { PostButton } from './controls.js'
import { When } from './layout.js'

// Where the audit chain stands (the latest verification, by anyone) and the button that verifies it
// again: on the overview and on the audit trail.

/** The chain's last verification and a button to verify it again. */
export const ChainStatus: FC<{
  base: string
  audit: Overview['audit']
  csrf: string | null
  back: string
}> = ({ base, audit, csrf, back }) => {
  const verified = audit.lastVerification
  return (
    <section aria-labelledby="chain">
      <h2 id="chain">Audit chain</h2>
      <p>
        {audit.lastSeq} events.{' '}
        {verified === null ? (
          'Not verified yet.'
        ) : verified.ok ? (
          <span class="good">
            Verified intact: {verified.events} events up to #{verified.lastSeq}, on <When at={verified.at} />.
          </span>
        ) : (
          <strong class="bad">
            Broken at event #{verified.firstBadSeq}: {verified.problem} (checked <When at={verified.at} />)
          </strong>
        )}
      </p>
      <PostButton
        action={`${base}/audit/verify`}
        label="Verify the chain now"
        csrf={csrf}
        fields={{ back }}
      />
    </section>
  )
}

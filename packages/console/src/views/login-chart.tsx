import type { LoginStats } from '@flexsecure/core'
import type { FC } from 'hono/jsx'
import { TableRegion } from './controls.js'

// Logins as bars, succeeded beside failed, drawn on the server as SVG: no chart library, no script
// needed to see it. The SVG is an image with a summary for screen readers; the same numbers follow
// as a table. Colours come from the stylesheet (classes), since the CSP allows no inline style.

const WIDTH = 720
const HEIGHT = 240
const LEFT = 40
const BOTTOM = 28
const TOP = 12

/** A round number at or above `value`, for the top of the scale. */
function niceMax(value: number): number {
  if (value <= 4) return 4
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

const label = (start: Date, bucket: LoginStats['bucket']) =>
  bucket === 'hour' ? start.toISOString().slice(11, 16) : start.toISOString().slice(5, 10)
const longLabel = (start: Date, bucket: LoginStats['bucket']) =>
  bucket === 'hour'
    ? `${start.toISOString().slice(0, 16).replace('T', ' ')} UTC`
    : start.toISOString().slice(0, 10)

/** The chart and its table. */
export const LoginChart: FC<{ stats: LoginStats; caption: string }> = ({ stats, caption }) => {
  const buckets = stats.buckets
  const top = niceMax(Math.max(0, ...buckets.map((b) => Math.max(b.succeeded, b.failed))))
  const plotWidth = WIDTH - LEFT - 8
  const plotHeight = HEIGHT - TOP - BOTTOM
  const slot = plotWidth / Math.max(1, buckets.length)
  const bar = Math.max(2, slot * 0.36)
  const y = (value: number) => TOP + plotHeight - (value / top) * plotHeight
  const every = Math.ceil(buckets.length / 12)
  const succeeded = buckets.reduce((sum, b) => sum + b.succeeded, 0)
  const failed = buckets.reduce((sum, b) => sum + b.failed, 0)
  const summary = `${caption}: ${succeeded} succeeded and ${failed} failed in ${buckets.length} ${stats.bucket === 'hour' ? 'hours' : 'days'}.`
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={summary}
        preserveAspectRatio="xMidYMid meet"
        data-chart=""
      >
        {[0, top / 2, top].map((value) => (
          <g>
            <line x1={LEFT} x2={WIDTH - 8} y1={y(value)} y2={y(value)} class="grid" />
            <text x={LEFT - 6} y={y(value) + 4} class="axis" text-anchor="end">
              {String(Math.round(value))}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          const x = LEFT + i * slot + (slot - 2 * bar) / 2
          const when = longLabel(b.start, stats.bucket)
          return (
            <g>
              <rect
                x={x}
                y={y(b.succeeded)}
                width={bar}
                height={Math.max(0, y(0) - y(b.succeeded))}
                class="bar ok"
                data-tip={`${when}: ${b.succeeded} succeeded`}
              >
                <title>{`${when}: ${b.succeeded} succeeded`}</title>
              </rect>
              <rect
                x={x + bar}
                y={y(b.failed)}
                width={bar}
                height={Math.max(0, y(0) - y(b.failed))}
                class="bar failed"
                data-tip={`${when}: ${b.failed} failed`}
              >
                <title>{`${when}: ${b.failed} failed`}</title>
              </rect>
              {i % every === 0 ? (
                <text x={LEFT + i * slot + slot / 2} y={HEIGHT - 8} class="axis" text-anchor="middle">
                  {label(b.start, stats.bucket)}
                </text>
              ) : null}
            </g>
          )
        })}
      </svg>
      <figcaption>
        <span class="swatch ok" aria-hidden="true" /> Succeeded{' '}
        <span class="swatch failed" aria-hidden="true" /> Failed
        <span class="hint"> · {summary}</span>
      </figcaption>
      <details>
        <summary>The numbers as a table</summary>
        <TableRegion label={`${caption}, as a table`}>
          <thead>
            <tr>
              <th scope="col">{stats.bucket === 'hour' ? 'Hour (UTC)' : 'Day (UTC)'}</th>
              <th scope="col">Succeeded</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {buckets.map((b) => (
              <tr>
                <th scope="row">{longLabel(b.start, stats.bucket)}</th>
                <td>{String(b.succeeded)}</td>
                <td>{String(b.failed)}</td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      </details>
    </figure>
  )
}

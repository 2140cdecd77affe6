import type { VersionTiming } from '../../src/daemon/control/control-types.js';
import { duration } from './format.js';

/**
 * Per version, the time from its save to the push, to the tag patched and to Flux's applied, as three stacked
 * segments of one bar (SVG attributes only: the page's CSP allows no inline style).
 */
const SEGMENTS = [
  { key: 'push', label: 'save → push', className: 'seg-push' },
  { key: 'patch', label: '→ tag patched', className: 'seg-patch' },
  { key: 'apply', label: '→ applied', className: 'seg-apply' },
] as const;

const ROW = 18;
const LABEL = 56;
const WIDTH = 420;
const SHOWN = 8;

export const TimingChart = ({ timings }: { timings: readonly VersionTiming[] }) => {
  const rows = timings
    .filter((t) => t.toPushMs !== undefined)
    .slice(-SHOWN)
    .reverse();
  if (rows.length === 0) {
    return (
      <p class="muted">No save measured yet: save a file in the source to see its way to the cluster.</p>
    );
  }
  const longest = Math.max(...rows.map((t) => t.toApplyMs ?? t.toPatchMs ?? t.toPushMs ?? 0), 1);
  const scale = (WIDTH - LABEL - 70) / longest;
  return (
    <figure class="chart" aria-label="time from save to push, tag patched and applied">
      <svg viewBox={`0 0 ${WIDTH} ${rows.length * ROW + 4}`} width="100%" role="img">
        {rows.map((timing, index) => {
          const ends = [timing.toPushMs, timing.toPatchMs, timing.toApplyMs];
          let start = 0;
          const y = index * ROW + 2;
          const total = timing.toApplyMs ?? timing.toPatchMs ?? timing.toPushMs;
          return (
            <g key={timing.version} class="chart-row" data-version={timing.version}>
              <text x={0} y={y + 12} class="chart-label">
                {timing.version}
              </text>
              {SEGMENTS.map((segment, i) => {
                const end = ends[i];
                if (end === undefined || end < start) return null;
                const rect = (
                  <rect
                    key={segment.key}
                    x={LABEL + start * scale}
                    y={y + 2}
                    width={Math.max(1, (end - start) * scale)}
                    height={ROW - 6}
                    class={segment.className}
                  >
                    <title>{`${timing.version} ${segment.label}: ${duration(end)}`}</title>
                  </rect>
                );
                start = end;
                return rect;
              })}
              <text x={LABEL + start * scale + 4} y={y + 12} class="chart-value">
                {duration(total)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        {SEGMENTS.map((segment) => (
          <span key={segment.key} class="legend">
            <i class={segment.className} />
            {segment.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
};

import type { DaemonEvent, VersionTiming } from './control/control-types.js';
import type { EventBus } from './event-bus.js';

/** Versions per source the chart shows; older ones are dropped. */
export const TIMELINE_LIMIT = 20;

interface SourceLine {
  /** The latest file event since the last build started. */
  lastChange: string | undefined;
  /** The save the running build covers, until it pushed or found nothing to push. */
  buildSave: string | undefined;
  timings: VersionTiming[];
}

const since = (from: string | undefined, to: string): number | undefined =>
  from === undefined ? undefined : Date.parse(to) - Date.parse(from);

/**
 * Per source, when each version was saved, pushed, patched into the OCIRepository and applied by Flux (issue #12),
 * read off the event bus: a `build` covers the file events before it, its `push` names the version, the `patch`
 * and the successful `reconcile-finished` (whose revision is `<tag>@<digest>`) complete it.
 */
export class Timeline {
  private readonly lines = new Map<string, SourceLine>();
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus) {
    this.unsubscribe = bus.subscribe((event) => this.record(event));
  }

  /** Oldest first. */
  of(source: string): VersionTiming[] {
    return (this.lines.get(source)?.timings ?? []).map((timing) => ({ ...timing }));
  }

  /** A source left the config. */
  remove(source: string): void {
    this.lines.delete(source);
  }

  close(): void {
    this.unsubscribe();
  }

  private line(source: string): SourceLine {
    let line = this.lines.get(source);
    if (!line) this.lines.set(source, (line = { lastChange: undefined, buildSave: undefined, timings: [] }));
    return line;
  }

  private record(event: DaemonEvent): void {
    if (event.source === undefined) return;
    const line = this.line(event.source);
    switch (event.type) {
      case 'change':
        line.lastChange = event.at;
        return;
      case 'build':
        // A retry (registry down) rebuilds the same save: it keeps the save it had.
        if (line.lastChange !== undefined) line.buildSave = line.lastChange;
        line.lastChange = undefined;
        return;
      case 'unchanged':
        line.buildSave = undefined;
        return;
      case 'push': {
        if (typeof event.data.version !== 'string') return;
        const savedAt = line.buildSave;
        line.buildSave = undefined;
        const toPushMs = since(savedAt, event.at);
        line.timings.push({
          version: event.data.version,
          ...(savedAt === undefined ? {} : { savedAt }),
          pushedAt: event.at,
          ...(toPushMs === undefined ? {} : { toPushMs }),
        });
        line.timings.splice(0, Math.max(0, line.timings.length - TIMELINE_LIMIT));
        return;
      }
      case 'patch': {
        const timing = line.timings.find((t) => t.version === event.data.tag && t.patchedAt === undefined);
        if (!timing) return;
        timing.patchedAt = event.at;
        const toPatchMs = since(timing.savedAt, event.at);
        if (toPatchMs !== undefined) timing.toPatchMs = toPatchMs;
        return;
      }
      case 'reconcile-finished': {
        if (event.data.outcome !== 'succeeded') return;
        const results = Array.isArray(event.data.results)
          ? (event.data.results as { revision?: unknown }[])
          : [];
        for (const result of results) {
          if (typeof result.revision !== 'string') continue;
          const tag = result.revision.split('@')[0];
          const timing = line.timings.find((t) => t.version === tag && t.appliedAt === undefined);
          if (!timing) continue;
          timing.appliedAt = event.at;
          const toApplyMs = since(timing.savedAt, event.at);
          if (toApplyMs !== undefined) timing.toApplyMs = toApplyMs;
        }
        return;
      }
      default:
        return;
    }
  }
}

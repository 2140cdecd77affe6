import type { ResolvedConfig } from '../config/schema.js';

export interface SourceDiff {
  added: string[];
  removed: string[];
  /** Same name, different settings (path, ignore, repository, ...): its watcher and pipeline are recreated. */
  changed: string[];
}

/**
 * What a config reload changes, by source name. A change to the watch settings recreates every source, since the
 * quiet period and polling belong to each watcher and pipeline.
 */
export const diffSources = (before: ResolvedConfig, after: ResolvedConfig): SourceDiff => {
  const old = new Map(before.sources.map((source) => [source.name, JSON.stringify(source)]));
  const next = new Map(after.sources.map((source) => [source.name, JSON.stringify(source)]));
  const watchChanged = JSON.stringify(before.watch) !== JSON.stringify(after.watch);
  return {
    added: [...next.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !next.has(name)),
    changed: [...next.keys()].filter(
      (name) => old.has(name) && (watchChanged || old.get(name) !== next.get(name)),
    ),
  };
};

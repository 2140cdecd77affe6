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

/**
 * Settings wired into the registry, cluster, Flux and socket adapters at start-up. A reload cannot swap those
 * live, so it names the ones that changed and says to restart, instead of ignoring them silently.
 */
const RESTART_KEYS = [
  'gitOpsEngine',
  'registryEnabled',
  'registryPort',
  'fluxInterval',
  'cluster',
  'registry',
  'flux.namespace',
  'flux.reconcileTimeout',
  'flux.concurrency',
  'socket',
  'ui',
  'log.format',
] as const;

const valueAt = (config: ResolvedConfig, key: string): unknown =>
  key
    .split('.')
    .reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], config);

const setAt = (config: ResolvedConfig, key: string, value: unknown): void => {
  const parts = key.split('.');
  const last = parts.pop() as string;
  const parent = parts.reduce<Record<string, unknown>>(
    (object, part) => object[part] as Record<string, unknown>,
    config as unknown as Record<string, unknown>,
  );
  parent[last] = value;
};

/**
 * A reload applies the sources, watch settings, mode and log level. The other settings keep their running
 * values, so that what the daemon reports (status, the registry it ensures) matches the adapters it runs, and the
 * reload names them as needing a restart.
 */
export const reloadedConfig = (
  running: ResolvedConfig,
  next: ResolvedConfig,
): { config: ResolvedConfig; needsRestart: string[] } => {
  const needsRestart = RESTART_KEYS.filter(
    (key) => JSON.stringify(valueAt(running, key)) !== JSON.stringify(valueAt(next, key)),
  );
  const config = structuredClone(next);
  for (const key of needsRestart) setAt(config, key, structuredClone(valueAt(running, key)));
  return { config, needsRestart };
};

import { Config, type ResolvedConfig } from '../../../src/config/schema.js';

/** A resolved config as the loader would produce it, from raw config fields. */
export const resolvedConfig = (raw: Record<string, unknown> = {}): ResolvedConfig => {
  const parsed = Config.parse({
    project: 'demo',
    sources: [{ name: 'app', path: './app' }],
    ...raw,
  });
  return {
    ...parsed,
    project: parsed.project ?? 'demo',
    file: '/work/demo/ksail-fluxd.yaml',
    baseDir: '/work/demo',
    sources: parsed.sources.map((source) => ({
      ...source,
      repository: source.repository ?? `demo/${source.name}`,
      absolutePath: `/work/demo/${source.path}`,
    })),
  };
};

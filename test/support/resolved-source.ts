import { SourceConfig, type ResolvedSource } from '../../src/config/schema.js';

/** A source as the config loader resolves it, with the schema's defaults, for tests that call publishSource. */
export const resolvedSource = (dir: string, overrides: Partial<ResolvedSource> = {}): ResolvedSource => ({
  ...SourceConfig.parse({ name: 'app', path: dir }),
  absolutePath: dir,
  repository: 'test/app',
  ...overrides,
});

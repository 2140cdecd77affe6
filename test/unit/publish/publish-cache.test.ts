import { afterEach, describe, expect, it } from 'vitest';
import { createValidationCache } from '../../../src/artifact/index.js';
import { systemClock } from '../../../src/clock.js';
import { createSilentLogger } from '../../../src/logger.js';
import { publishSource } from '../../../src/publish/publish-source.js';
import { resolvedSource } from '../../support/resolved-source.js';
import { tempDirs, writeTree } from '../artifact/tree.js';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

describe('publishSource validation cache', () => {
  // The daemon keeps one cache per source so that a save re-parses only the files it changed (issue #5 latency).
  it('hands the cache to the build, which records every manifest it validated', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
      'sub/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n',
    });
    const cache = createValidationCache();
    const result = await publishSource({
      source: resolvedSource(dir, { targetNamespace: 'default' }),
      client: undefined,
      request: { dryRun: true },
      clock: systemClock,
      logger: createSilentLogger(),
      validationCache: cache,
    });
    expect(result.outcome).toBe('dry-run');
    expect(cache.size).toBe(2);
  });
});

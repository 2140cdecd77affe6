import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationCache, type FileCheck } from '../../../src/artifact/validation-cache.js';
import { systemClock } from '../../../src/clock.js';
import { createSilentLogger } from '../../../src/logger.js';
import { publishSource } from '../../../src/publish/publish-source.js';
import { resolvedSource } from '../../support/resolved-source.js';
import { tempDirs, writeTree } from '../artifact/tree.js';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** A cache that records which files the build parsed and checked itself (`store` follows every fresh check). */
class RecordingCache extends ValidationCache {
  checked: string[] = [];
  override store(
    path: string,
    role: Parameters<ValidationCache['store']>[1],
    content: Buffer,
    check: FileCheck,
  ) {
    this.checked.push(path);
    super.store(path, role, content, check);
  }
}

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

describe('publishSource validation cache', () => {
  // The daemon keeps one cache per source so that a save re-parses only the files it changed (issue #5 latency).
  it('parses only the changed file on the next publish of the source', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'a.yaml': configMap('a', '1'), 'sub/b.yaml': configMap('b', '1') });
    const cache = new RecordingCache();
    const publish = () =>
      publishSource({
        source: resolvedSource(dir, { targetNamespace: 'default' }),
        client: undefined,
        request: { dryRun: true },
        clock: systemClock,
        logger: createSilentLogger(),
        validationCache: cache,
      });
    expect((await publish()).outcome).toBe('dry-run');
    expect(cache.checked.sort()).toEqual(['a.yaml', 'sub/b.yaml']);

    cache.checked = [];
    await writeFile(join(dir, 'sub/b.yaml'), configMap('b', '2'));
    await publish();
    expect(cache.checked).toEqual(['sub/b.yaml']);

    cache.checked = [];
    await writeFile(join(dir, 'sub/b.yaml'), 'apiVersion: v1\nkind: [broken\n');
    await expect(publish()).rejects.toMatchObject({ code: 'manifest-invalid' });
    expect(cache.checked).toEqual(['sub/b.yaml']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { formatPrune } from '../../../src/cli/prune.js';
import { formatResult } from '../../../src/cli/push.js';
import type { PublishResult } from '../../../src/publish/publish-types.js';
import { configMap, createTestProject, type TestProject } from '../../support/project.js';
import { runKsail } from '../../support/run-cli.js';

const projects: TestProject[] = [];
afterEach(async () => {
  await Promise.allSettled(projects.splice(0).map((project) => project.remove()));
});

/** Issue 9, §2: counts read as English ("1 file", "1 version"), not "1 files" or "version(s)". */
describe('counts in command output', () => {
  it('push says "1 file"', () => {
    const result = {
      source: 'app',
      outcome: 'pushed',
      version: '1.0.0',
      manifestDigest: `sha256:${'a'.repeat(64)}`,
      layerDigest: `sha256:${'b'.repeat(64)}`,
      fileCount: 1,
      size: 10,
      elapsedMs: 5,
    } as PublishResult;
    expect(formatResult(result)).toContain('  1 file  ');
    expect(formatResult({ ...result, fileCount: 2 })).toContain('  2 files  ');
  });

  it('prune says "1 version" and "1 manifest"', () => {
    const [line] = formatPrune('app', {
      kept: ['1.0.1'],
      delete: [{ digest: `sha256:${'c'.repeat(64)}`, tags: ['1.0.0'] }],
      skipped: [],
    } as unknown as Parameters<typeof formatPrune>[1]);
    expect(line).toContain('kept 1 version (highest 1.0.1), deleted 1 manifest (1.0.0)');
    expect(line).not.toContain('(s)');
  });

  it('push --dry-run says "1 of 1 source failed the dry run"', async () => {
    const project = await createTestProject({ registryPort: 1 });
    projects.push(project);
    await project.write(
      'configmap.yaml',
      configMap('hello', { a: 'b' }).replace('kind: ConfigMap', 'kind: [x'),
    );
    const result = await runKsail(['--config', project.configPath, 'push', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('1 of 1 source failed the dry run; see above');
    expect(result.stderr).not.toContain('(s)');
  });
});

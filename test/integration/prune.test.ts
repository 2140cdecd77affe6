import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createSilentLogger } from '../../src/logger.js';
import { createRegistryClient } from '../../src/registry/client/client.js';
import { pruneRepository } from '../../src/registry/prune.js';
import { selectRuntime } from '../../src/registry/runtime/select.js';
import type { RegistryRuntime } from '../../src/registry/runtime/types.js';
import { startFakeCluster } from '../support/fake-cluster/index.js';
import { freePort } from '../support/free-port.js';
import { runKsail } from '../support/run-cli.js';
import { dockerAvailable, removeLabelled } from '../support/test-registry.js';
import { pullable, rawPush, testConfig, testDeps, uniqueName } from './registry-runtime-support.js';

const VERSIONS = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.1.0'];

describe.skipIf(!(await dockerAvailable()))('prune', () => {
  let name: string;
  let port: number;
  let stateHome: string;
  let runtime: RegistryRuntime;

  beforeEach(async () => {
    name = uniqueName('ksail-fluxd-test-prune');
    port = await freePort();
    stateHome = await mkdtemp(join(tmpdir(), 'ksail-fluxd-prune-'));
    runtime = await selectRuntime(
      testConfig({ registryPort: port, registry: { name, runtime: 'docker' } }),
      testDeps({ ...process.env, XDG_STATE_HOME: stateHome }),
    );
    await runtime.up();
  });
  afterEach(async () => {
    await removeLabelled();
    await rm(stateHome, { recursive: true, force: true });
  });
  afterAll(() => removeLabelled());

  it('keeps the N highest versions, leaves other tags, and reclaims the deleted layers', async () => {
    const reused = randomBytes(100 * 1024);
    await rawPush(port, 'test/app', '1.0.0', 0, reused);
    for (const version of VERSIONS.slice(1)) await rawPush(port, 'test/app', version);
    await rawPush(port, 'test/app', 'latest'); // not semver: untouched
    const client = createRegistryClient({ endpoint: `localhost:${port}` });

    const result = await pruneRepository({
      repository: 'test/app',
      keep: 2,
      client,
      runtime,
      lockDir: join(stateHome, 'locks'),
      clock: systemClock,
      logger: createSilentLogger(),
    });
    expect(result.kept).toEqual(['1.1.0', '1.0.3']);
    expect(result.delete.flatMap((d) => d.tags).sort()).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    expect(result.garbageCollected).toBe(true);
    expect(result.bytesReclaimed).toBeGreaterThanOrEqual(3 * 100 * 1024);
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore!);
    expect((await client.listTags('test/app')).sort()).toEqual(['1.0.3', '1.1.0', 'latest']);
    for (const tag of ['1.0.3', '1.1.0', 'latest']) expect(await pullable(port, 'test/app', tag)).toBe(true);

    // After GC the registry must not claim a deleted blob still exists (it restarts to drop its cache).
    expect(
      await client.hasBlob(
        'test/app',
        `sha256:${(await import('node:crypto')).createHash('sha256').update(reused).digest('hex')}`,
      ),
    ).toBe(false);
    await rawPush(port, 'test/app', '1.2.0', 0, reused);
    expect(await pullable(port, 'test/app', '1.2.0')).toBe(true);
  });

  const pruneCli = async (options: { kubeconfig?: string } = {}): Promise<Record<string, unknown>> => {
    for (const version of VERSIONS) await rawPush(port, 'test/app', version, 4096);
    const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-prune-cli-'));
    const file = join(dir, 'ksail-fluxd.yaml');
    await writeFile(
      file,
      [
        'project: test',
        `registryPort: ${port}`,
        `registry: {name: ${name}, runtime: docker}`,
        ...(options.kubeconfig ? [`cluster: {kubeconfig: ${options.kubeconfig}}`] : []),
        'sources:',
        '  - {name: app, path: ./app, repository: test/app, keep: 3}',
        '',
      ].join('\n'),
    );
    try {
      const result = await runKsail(['--config', file, 'prune', 'app', '--json'], {
        cwd: dir,
        env: { XDG_STATE_HOME: stateHome },
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as Record<string, unknown>;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('prunes from the CLI with the source keep setting and prints JSON', async () => {
    const json = await pruneCli();
    expect(json).toMatchObject({
      source: 'app',
      repository: 'test/app',
      kept: ['1.1.0', '1.0.3', '1.0.2'],
      garbageCollected: true,
      inUse: { known: false },
    });
    expect(json.bytesReclaimed).toEqual(expect.any(Number));
  });

  it('never deletes the version the cluster uses', async () => {
    const cluster = await startFakeCluster({ controllers: false });
    try {
      cluster.apply({
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name: 'app', namespace: 'flux-system' },
        spec: { url: `oci://localhost:${port}/test/app`, interval: '1m', ref: { tag: '1.0.0' } },
      });
      const json = await pruneCli({ kubeconfig: cluster.kubeconfigPath });
      expect(json).toMatchObject({
        inUse: { known: true, versions: ['1.0.0'] },
        kept: expect.arrayContaining(['1.1.0', '1.0.3', '1.0.2', '1.0.0']),
      });
      expect(await pullable(port, 'test/app', '1.0.0')).toBe(true);
      expect(await pullable(port, 'test/app', '1.0.1')).toBe(false);
    } finally {
      await cluster.close();
    }
  });
});

import { execa, type ResultPromise } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { configMap, createTestProject, type TestProject } from '../support/project.js';

/**
 * The daemon as users run it: the built CLI (`node dist/cli/main.js start`) against the shared real registry and
 * the fake Kubernetes API with emulated Flux controllers. One daemon process walks through the whole loop.
 */
const ROOT = resolve(import.meta.dirname, '../..');
/** KSAIL_FLUXD_E2E_CLI runs another entry point (an installed binary, a wrapper) instead of the built one. */
const MAIN = process.env.KSAIL_FLUXD_E2E_CLI ?? join(ROOT, 'dist/cli/main.js');

/** Builds dist/ when it is missing or older than a source file, so the test runs the code under test. */
const ensureBuilt = async (): Promise<void> => {
  const newest = async (dir: string): Promise<number> => {
    let latest = 0;
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) latest = Math.max(latest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
    return latest;
  };
  const built = join(ROOT, 'dist/cli/main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= (await newest(join(ROOT, 'src')))) return;
  await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
};

interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

const endpoint = inject('registryEndpoint');
let cluster: FakeCluster;
let project: TestProject;
let daemon: ResultPromise<{ reject: false }>;
const logs: LogLine[] = [];

const tags = async (): Promise<string[]> => {
  const response = await fetch(`http://${endpoint}/v2/${project.repository}/tags/list`);
  if (response.status === 404) return [];
  const body = (await response.json()) as { tags?: string[] | null };
  return (body.tags ?? []).sort();
};
const ociRepository = () => cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'flux-system', 'app');
const tagInCluster = (): unknown =>
  (ociRepository()?.spec as { ref?: { tag?: string } } | undefined)?.ref?.tag;
const message = (): unknown =>
  (cluster.get('v1', 'ConfigMap', 'default', 'hello')?.data as { message?: string } | undefined)?.message;
const logged = (text: string, match: Record<string, unknown> = {}): LogLine[] =>
  logs.filter((line) => line.message === text && Object.entries(match).every(([k, v]) => line[k] === v));

describe('ksail-fluxd start (e2e)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    cluster = await startFakeCluster();
    const port = Number(endpoint.split(':')[1]);
    project = await createTestProject({
      registryPort: port,
      source: { targetNamespace: 'default' },
      config: {
        cluster: { kubeconfig: cluster.kubeconfigPath, context: cluster.contextName },
        socket: { path: 'daemon.sock' },
        fluxInterval: '10m',
        flux: { reconcileTimeout: '20s' },
      },
    });
    daemon = execa('node', [MAIN, 'start', '--config', project.configPath], {
      cwd: project.dir,
      reject: false,
      env: {
        HOME: project.dir,
        PATH: process.env.PATH,
        KSAIL_FLUXD_LOG_FORMAT: 'json',
        KSAIL_FLUXD_LOG_LEVEL: 'debug',
      },
      extendEnv: false,
    });
    let buffered = '';
    daemon.stderr.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          logs.push({ level: 'raw', message: line });
        }
      }
    });
  });

  afterAll(async () => {
    // The daemon's own log, for when a step fails.
    await writeFile(
      join(tmpdir(), 'ksail-fluxd-e2e-daemon.log'),
      logs.map((line) => JSON.stringify(line)).join('\n'),
    );
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    await daemon;
    await cluster?.close();
    if (project) await rm(project.dir, { recursive: true, force: true });
  });

  it('pushes the source at start-up, applies the Flux objects and reconciles', async () => {
    await vi.waitFor(() => expect(message()).toBe('one'), { timeout: 30_000, interval: 100 });
    expect(await tags()).toEqual(['1.0.0']);
    expect(tagInCluster()).toBe('1.0.0');
    expect(existsSync(join(project.dir, 'daemon.sock'))).toBe(true);
  });

  it('turns a save into a new version in the cluster', async () => {
    const saved = performance.now();
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    await vi.waitFor(() => expect(message()).toBe('two'), { timeout: 30_000, interval: 20 });
    const latencyMs = performance.now() - saved;
    expect(await tags()).toEqual(['1.0.0', '1.0.1']);
    expect(tagInCluster()).toBe('1.0.1');
    expect(logged('reconcile finished', { outcome: 'succeeded' }).length).toBeGreaterThanOrEqual(1);
    // Save → reconciled in the cluster, with a 250 ms quiet period (measured, not a hard SLO here).
    expect(latencyMs).toBeLessThan(15_000);
    console.info(`e2e save-to-reconciled latency: ${Math.round(latencyMs)} ms`);
  });

  it('pushes nothing for a save that changes no content', async () => {
    const before = logged('content unchanged, nothing pushed').length;
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    await vi.waitFor(
      () => expect(logged('content unchanged, nothing pushed').length).toBeGreaterThan(before),
      {
        timeout: 10_000,
      },
    );
    expect(await tags()).toEqual(['1.0.0', '1.0.1']);
  });

  it('reports an invalid manifest and goes ahead with the next valid save', async () => {
    await project.write('configmap.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n');
    await vi.waitFor(
      () => expect(logged('daemon error', { code: 'manifest-invalid' }).length).toBeGreaterThan(0),
      {
        timeout: 10_000,
      },
    );
    const error = logged('daemon error', { code: 'manifest-invalid' })[0];
    expect(String(error?.error)).toMatch(/configmap\.yaml:\d+/);
    await project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    await vi.waitFor(() => expect(message()).toBe('three'), { timeout: 30_000, interval: 50 });
    expect(await tags()).toEqual(['1.0.0', '1.0.1', '1.0.2']);
  });

  it('keeps pushing while the cluster is unreachable and catches up when it is back', async () => {
    cluster.faults.setUnreachable(true);
    await project.write('configmap.yaml', configMap('hello', { message: 'four' }));
    await vi.waitFor(async () => expect(await tags()).toContain('1.0.3'), { timeout: 10_000, interval: 100 });
    await project.write('configmap.yaml', configMap('hello', { message: 'five' }));
    await vi.waitFor(async () => expect(await tags()).toContain('1.0.4'), { timeout: 10_000, interval: 100 });
    cluster.faults.setUnreachable(false);
    await vi.waitFor(() => expect(message()).toBe('five'), { timeout: 60_000, interval: 100 });
    expect(tagInCluster()).toBe('1.0.4');
  });

  it('stops on SIGTERM with exit code 0 and removes its socket', async () => {
    daemon.kill('SIGTERM');
    const result = await daemon;
    expect(result.exitCode).toBe(0);
    expect(logged('daemon stopped')).toHaveLength(1);
    expect(existsSync(join(project.dir, 'daemon.sock'))).toBe(false);
  });
});

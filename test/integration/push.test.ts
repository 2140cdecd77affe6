import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startFaultyProxy } from '../support/faulty-proxy.js';
import { configMap, createTestProject, type TestProject } from '../support/project.js';
import { runKsail } from '../support/run-cli.js';
import { readLayer } from '../support/tar-layer.js';
import { startTestRegistry } from '../support/test-registry.js';

const endpoint = inject('registryEndpoint');
const port = Number(endpoint.split(':')[1]);
/** These tests are about the registry half of the loop; the cluster half has its own tests. */
const REGISTRY_ONLY = { gitOpsEngine: 'Kubectl' };

const tags = async (repository: string): Promise<string[]> => {
  const response = await fetch(`http://${endpoint}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  return ((await response.json()) as { tags: string[] | null }).tags ?? [];
};

const treeOf = async (
  dir: string,
  base = dir,
  out = new Map<string, Buffer>(),
): Promise<Map<string, Buffer>> => {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await treeOf(path, base, out);
    else out.set(relative(base, path), await readFile(path));
  }
  return out;
};

describe('ksail-fluxd push against a real registry', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
  });
  const newProject = async (options: Parameters<typeof createTestProject>[0]): Promise<TestProject> => {
    const project = await createTestProject(options);
    cleanups.push(() => project.remove());
    return project;
  };

  it('pushes a Flux artifact that skopeo reads and whose layer holds the source tree', async () => {
    const project = await newProject({ registryPort: port, config: REGISTRY_ONLY });
    await project.write('nested/deep/service.yaml', configMap('deep', { a: 'b' }));
    const result = await runKsail(['--config', project.configPath, 'push', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [pushed] = JSON.parse(result.stdout).results;
    expect(pushed).toMatchObject({ source: 'app', outcome: 'pushed', version: '1.0.0', fileCount: 3 });

    const reference = `docker://${endpoint}/${project.repository}:1.0.0`;
    const raw = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', reference]);
    const manifest = JSON.parse(raw.stdout);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.cncf.flux.config.v1+json');
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe('application/vnd.cncf.flux.content.v1.tar+gzip');
    expect(manifest.annotations['org.opencontainers.image.created']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(manifest.annotations['org.opencontainers.image.revision']).toMatch(/^1\.0\.0/);
    expect(manifest.annotations['org.opencontainers.image.source']).toBeTruthy();

    const layout = await mkdtemp(join(tmpdir(), 'ksail-fluxd-oci-'));
    cleanups.push(() => rm(layout, { recursive: true, force: true }));
    await execa('skopeo', ['copy', '--src-tls-verify=false', reference, `oci:${layout}:1.0.0`]);
    const layerHex = (manifest.layers[0].digest as string).replace('sha256:', '');
    const entries = await readLayer(await readFile(join(layout, 'blobs', 'sha256', layerHex)));
    const names = entries.map((entry) => entry.header.name);
    expect(names[0]).toBe('.');
    const files = new Map(
      entries
        .filter((entry) => entry.header.type !== 'directory')
        .map((entry) => [entry.header.name, entry.content]),
    );
    expect(files).toEqual(await treeOf(project.sourceDir));
  });

  it('says when the tag could not be patched because there is no cluster', async () => {
    const project = await newProject({ registryPort: port, config: { gitOpsEngine: 'Flux' } });
    const result = await runKsail(['--config', project.configPath, 'push'], {
      env: { KUBECONFIG: join(project.dir, 'missing-kubeconfig') },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^app {2}1\.0\.0 /);
    expect(result.stdout).toContain('app  no cluster: tag not patched (no kubeconfig found');
    expect(await tags(project.repository)).toEqual(['1.0.0']);
  });

  it('reports unchanged on a second push, bumps patch on an edit and minor with --bump minor', async () => {
    const project = await newProject({ registryPort: port, config: REGISTRY_ONLY });
    const args = ['--config', project.configPath, 'push'];
    expect((await runKsail(args)).stdout).toMatch(/^app {2}1\.0\.0 {2}sha256:/);
    const again = await runKsail(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^app {2}unchanged {2}1\.0\.0/);
    expect(await tags(project.repository)).toEqual(['1.0.0']);

    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    expect((await runKsail(args)).stdout).toMatch(/^app {2}1\.0\.1 /);
    await project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    expect((await runKsail([...args, '--bump', 'minor'])).stdout).toMatch(/^app {2}1\.1\.0 /);
    expect((await tags(project.repository)).sort()).toEqual(['1.0.0', '1.0.1', '1.1.0']);

    const versions = await runKsail(['--config', project.configPath, 'versions', 'app', '--json']);
    expect(JSON.parse(versions.stdout).versions.map((v: { version: string }) => v.version)).toEqual([
      '1.1.0',
      '1.0.1',
      '1.0.0',
    ]);
  });

  it('publishes a revert to already-pushed content as a new version with the old layer, as the README says', async () => {
    const project = await newProject({ registryPort: port, config: REGISTRY_ONLY });
    const push = async () => {
      const result = await runKsail(['--config', project.configPath, 'push', '--json']);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout).results[0] as {
        outcome: string;
        version: string;
        layerDigest: string;
      };
    };
    const first = await push();
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    expect(await push()).toMatchObject({ outcome: 'pushed', version: '1.0.1' });
    await project.write('configmap.yaml', configMap('hello', { message: 'one' }));
    const reverted = await push();
    expect(reverted).toMatchObject({ outcome: 'pushed', version: '1.0.2', layerDigest: first.layerDigest });
    expect(await push()).toMatchObject({ outcome: 'unchanged', version: '1.0.2' });
  });

  it('pushes the explicit --version however the flag is written', async () => {
    const project = await newProject({ registryPort: port, config: REGISTRY_ONLY });
    const push = (...argv: string[]) => runKsail(['--config', project.configPath, 'push', ...argv]);
    const forms: [string[], string][] = [
      [['--version', '2.0.0', 'app'], '2.0.0'],
      [['app', '--version=2.1.0'], '2.1.0'],
      [['app', '--version', '3.0.0'], '3.0.0'],
    ];
    for (const [index, [argv, version]] of forms.entries()) {
      await project.write('configmap.yaml', configMap('hello', { message: `edit ${index}` }));
      const result = await push(...argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^app {2}${version.replace(/\./g, '\\.')} `));
    }
    expect((await tags(project.repository)).sort()).toEqual(['2.0.0', '2.1.0', '3.0.0']);
  });

  it('pushes nothing when a manifest is invalid, and says where', async () => {
    const project = await newProject({ registryPort: port, config: REGISTRY_ONLY });
    // The kustomization lists configmap.yaml, so Flux would apply it (an unlisted file would not block).
    await project.write('configmap.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n');
    const result = await runKsail(['--config', project.configPath, 'push']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/configmap\.yaml:\d+:\d+ /);
    expect(await tags(project.repository)).toEqual([]);
  });

  it('fails within 5 s with a clear error when the registry is stopped', async () => {
    const registry = await startTestRegistry();
    cleanups.push(() => registry.close());
    await registry.stop();
    const project = await newProject({ registryPort: registry.port, config: REGISTRY_ONLY });
    const result = await runKsail(['--config', project.configPath, 'push']);
    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(5000);
    expect(result.stderr).toContain(`localhost:${registry.port}`);
    expect(result.stderr).toContain('ksail-fluxd registry up');
  });

  it('succeeds when the registry answers 500 once', async () => {
    const proxy = await startFaultyProxy(endpoint);
    cleanups.push(() => proxy.close());
    const project = await newProject({
      registryPort: Number(proxy.endpoint.split(':')[1]),
      config: REGISTRY_ONLY,
    });
    proxy.failNext(1, 500);
    const result = await runKsail(['--config', project.configPath, 'push']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^app {2}1\.0\.0 /);
    expect(await tags(project.repository)).toEqual(['1.0.0']);
    // The fault really happened: exactly one request got the 500, and the same request went out again unfaulted.
    const faulted = proxy.requests.filter((request) => request.faulted);
    expect(faulted.map((request) => request.status)).toEqual([500]);
    const [first] = faulted;
    const again = proxy.requests
      .slice(proxy.requests.indexOf(first!) + 1)
      .find((request) => request.method === first!.method && request.url === first!.url);
    expect(again).toMatchObject({ faulted: false });
    expect(again?.status).not.toBe(500);
  });
});

import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { configMap, createTestProject, type TestProject } from '../support/project.js';
import { describeRealCluster } from '../support/real-cluster/index.js';
import { realClusterNamespaces, type RealClusterView } from '../support/real-cluster/view.js';
import { tempDirs } from '../support/temp-dirs.js';
import { createCleanup, ensureBuilt, registryPort, runCli } from './daemon-harness.js';
import { registryTags } from './daemon-readers.js';

/**
 * The one-shot commands against real Flux (no daemon): push, apply, reconcile, prune, with the failures a user
 * meets first (a wrong tag, an unreachable registry URL), and Flux's own CLI reading back every artifact we push.
 */
const endpoint = inject('registryEndpoint');
const dirs = tempDirs('ksail-fluxd-flux-pull-');

describeRealCluster('the CLI on real Flux (e2e)', (cluster) => {
  const cleanup = createCleanup();
  let project: TestProject;
  let view: RealClusterView;
  let target: string;
  /** The source's files at each version pushed. */
  const contents = new Map<string, Record<string, string>>();

  const cli = (...args: string[]) => runCli([...args, '--config', project.configPath], { dir: project.dir });
  const pushVersion = async (message: string): Promise<string> => {
    const files = { 'configmap.yaml': configMap('hello', { message }) };
    await project.write('configmap.yaml', files['configmap.yaml']);
    const result = await cli('push', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const [pushed] = (JSON.parse(result.stdout) as { results: { version: string; outcome: string }[] })
      .results;
    expect(pushed?.outcome).toBe('pushed');
    contents.set(pushed!.version, { ...files, 'kustomization.yaml': await readSource('kustomization.yaml') });
    return pushed!.version;
  };
  const readSource = (path: string) => readFile(join(project.sourceDir, path), 'utf8');

  beforeAll(async () => {
    await ensureBuilt();
    const namespaces = await realClusterNamespaces(cluster);
    const fluxNamespace = namespaces.fluxNamespace;
    ({ view, target } = namespaces);
    cleanup.add(() => view.deleteFluxObjects());
    project = await createTestProject({
      registryPort: registryPort(),
      source: { targetNamespace: target },
      config: {
        gitOpsEngine: 'Flux',
        cluster: { kubeconfig: cluster.kubeconfigPath },
        fluxInterval: '10m',
        flux: { namespace: fluxNamespace, reconcileTimeout: '30s' },
      },
    });
    cleanup.add(() => project.remove());
    cleanup.add(() => dirs.cleanup());
  });
  afterAll(() => cleanup.run());

  it('push, apply and reconcile: Flux applies the content at <tag>@<digest>', async () => {
    const version = await pushVersion('one');
    expect((await cli('apply')).exitCode).toBe(0);
    const result = await cli('reconcile', '--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const [outcome] = (JSON.parse(result.stdout) as { results: { ok: boolean; revision: string }[] }).results;
    expect(outcome?.revision).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
    expect(await view.sourceRevision('app')).toBe(outcome?.revision);
    expect((await view.configMapData(target, 'hello'))?.message).toBe('one');
  });

  it('a wrong tag fails in under 10 s with Flux’s message, and says that Flux keeps retrying', async () => {
    const tag = await view.tag('app');
    await view.patchOCIRepository('app', { spec: { ref: { tag: '9.9.9' } } });
    const started = performance.now();
    const result = await cli('reconcile');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /Flux could not reconcile OCIRepository .*\/app: OCIArtifactPullFailed: failed to determine artifact digest: .*MANIFEST_UNKNOWN/,
    );
    expect(result.stdout).toContain('Flux keeps retrying with backoff');
    await view.patchOCIRepository('app', { spec: { ref: { tag } } });
  });

  it('an unreachable registry URL fails in under 10 s with Flux’s message', async () => {
    const url = ((await view.ociRepository('app'))?.spec as { url: string }).url;
    await view.patchOCIRepository('app', {
      spec: { url: `oci://localhost:${await freePort()}/nowhere/app` },
    });
    const started = performance.now();
    const result = await cli('reconcile');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/OCIArtifactPullFailed: .*connection refused/);
    await view.patchOCIRepository('app', { spec: { url } });
    expect((await cli('reconcile')).exitCode).toBe(0);
  });

  it('a field the user set survives apply (server-side apply keeps other managers’ fields)', async () => {
    await view.patchOCIRepository('app', {
      metadata: { labels: { team: 'platform' } },
      spec: { timeout: '3m' },
    });
    const result = await cli('apply');
    expect(result.exitCode, result.stderr).toBe(0);
    const object = await view.ociRepository('app');
    expect((object?.spec as { timeout?: string }).timeout).toBe('3m');
    expect((object?.metadata as { labels: Record<string, string> }).labels.team).toBe('platform');
  });

  it('flux pull artifact reads every artifact we push, and its files equal the source', async () => {
    await pushVersion('two');
    await pushVersion('three');
    for (const [version, files] of contents) {
      const out = await dirs.make();
      const pulled = await execa(
        cluster.fluxBinary,
        ['pull', 'artifact', `oci://${endpoint}/${project.repository}:${version}`, '--output', out],
        { reject: false, env: { KUBECONFIG: cluster.kubeconfigPath } },
      );
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      const entries = await readdir(out, { recursive: true, withFileTypes: true });
      const read = Object.fromEntries(
        await Promise.all(
          entries
            .filter((entry) => entry.isFile())
            .map(async (entry) => {
              const path = join(entry.parentPath, entry.name);
              return [relative(out, path), await readFile(path, 'utf8')] as const;
            }),
        ),
      );
      expect(read, version).toEqual(files);
    }
  });

  it('prune never deletes the version the cluster uses', async () => {
    const versions = [...contents.keys()];
    const inUse = versions[0]!;
    const highest = versions.at(-1)!;
    await view.patchOCIRepository('app', { spec: { ref: { tag: inUse } } });
    const result = await cli('prune', 'app', '--keep', '1', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await registryTags(endpoint, project.repository)).toEqual([inUse, highest]);
  });
});

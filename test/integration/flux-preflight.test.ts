import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { afterPush } from '../../src/publish/after-push.js';
import { createKubeAdapter } from '../../src/flux/create-kube-adapter.js';
import { fluxPreflight } from '../../src/flux/preflight.js';
import { freePort } from '../support/free-port.js';
import { logger, startFluxFixture, type FluxFixture } from './flux-support.js';

const fixtures: FluxFixture[] = [];
const start = async (options: Parameters<typeof startFluxFixture>[0] = {}): Promise<FluxFixture> => {
  const fixture = await startFluxFixture(options);
  fixtures.push(fixture);
  return fixture;
};
afterEach(async () => {
  await Promise.allSettled(fixtures.splice(0).map((fixture) => fixture.close()));
});

/** A kubeconfig whose only context points at `serverUrl`, by default a port nothing listens on. */
const closedPortKubeconfig = async (
  serverUrl?: string,
): Promise<{ path: string; server: string; cleanup: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'ksail-closed-cluster-'));
  const server = serverUrl ?? `http://127.0.0.1:${await freePort()}`;
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'gone', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'gone', user: { token: 't' } }],
      contexts: [{ name: 'kind-gone', context: { cluster: 'gone', user: 'gone' } }],
      'current-context': 'kind-gone',
    }),
  );
  return { path, server, cleanup: () => rm(dir, { recursive: true, force: true }) };
};

describe('flux preflight', () => {
  it('passes on a cluster with Flux', async () => {
    const fixture = await start();
    await expect(fluxPreflight(fixture.adapter, fixture.config)).resolves.toBeUndefined();
  });

  it('reports an unreachable cluster (closed port) within 5 s, naming context and server', async () => {
    const fixture = await start();
    const closed = await closedPortKubeconfig();
    try {
      const adapter = createKubeAdapter({ kubeconfigPath: closed.path, env: {}, logger });
      const started = performance.now();
      const error = await fluxPreflight(adapter, fixture.config).catch((caught: unknown) => caught);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(error).toMatchObject({ code: 'cluster-unreachable' });
      expect((error as Error).message).toBe(
        `cannot reach the Kubernetes API of context "kind-gone" at ${closed.server} (ECONNREFUSED); start the cluster, check \`kubectl config current-context\`, or set cluster.context in ksail-fluxd.yaml`,
      );
    } finally {
      await closed.cleanup();
    }
  });

  it('reports an API server that accepts connections but never answers within 5 s', async () => {
    const fixture = await start();
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const closed = await closedPortKubeconfig(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    try {
      const adapter = createKubeAdapter({ kubeconfigPath: closed.path, env: {}, logger });
      const started = performance.now();
      const error = await fluxPreflight(adapter, fixture.config).catch((caught: unknown) => caught);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(error).toMatchObject({
        code: 'cluster-unreachable',
        message: expect.stringContaining('(no answer in time)'),
      });
    } finally {
      silent.close();
      await closed.cleanup();
    }
  });

  it('reports a cluster that went away, and afterPush returns the reason instead of failing', async () => {
    const fixture = await start();
    fixture.cluster.faults.setUnreachable(true);
    const started = performance.now();
    await expect(fluxPreflight(fixture.adapter, fixture.config)).rejects.toMatchObject({
      code: 'cluster-unreachable',
    });
    const result = await afterPush({
      config: fixture.config,
      source: fixture.config.sources[0]!,
      version: '1.0.1',
      digest: 'sha256:0',
      logger,
      clock: systemClock,
      env: {},
    });
    expect(result).toMatchObject({
      patched: false,
      code: 'cluster-unreachable',
      reason: expect.stringContaining('context "fake"'),
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('gives the install hint when the Flux CRDs are missing', async () => {
    const fixture = await start({ flux: false });
    await expect(fluxPreflight(fixture.adapter, fixture.config)).rejects.toMatchObject({
      code: 'flux-missing',
      message: expect.stringMatching(
        /Flux is not installed on context "fake" .*CustomResourceDefinition ocirepositories\.source\.toolkit\.fluxcd\.io is missing; install Flux with `ksail cluster create` \(Flux enabled\) or `flux install`/,
      ),
    });
  });

  it('names the namespace when Flux runs elsewhere', async () => {
    const fixture = await start({ flux: false });
    fixture.cluster.installFlux({ namespace: 'gitops' });
    await expect(fluxPreflight(fixture.adapter, fixture.config)).rejects.toMatchObject({
      code: 'flux-missing',
      message: expect.stringContaining(
        'namespace flux-system does not exist on context "fake"; install Flux into it with `flux install --namespace flux-system`, or set flux.namespace',
      ),
    });
  });

  it('refuses every Flux action when gitOpsEngine is not Flux', async () => {
    const fixture = await start({ config: { gitOpsEngine: 'Kubectl' } });
    await expect(fluxPreflight(fixture.adapter, fixture.config)).rejects.toMatchObject({
      code: 'flux-disabled',
    });
    const result = await afterPush({
      config: fixture.config,
      source: fixture.config.sources[0]!,
      version: '1.0.1',
      digest: 'sha256:0',
      logger,
    });
    expect(result).toMatchObject({ patched: false, code: 'flux-disabled' });
  });
});

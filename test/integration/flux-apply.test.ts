import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { applyResources } from '../../src/flux/apply.js';
import { fluxSettingsOf } from '../../src/flux/generate.js';
import { startFluxFixture, logger, type FluxFixture } from './flux-support.js';

/** A merge patch as another tool (kubectl) would send it, with its own field manager. */
const userPatch = async (fixture: FluxFixture, path: string, patch: object): Promise<void> => {
  const response = await fetch(`${fixture.cluster.url}${path}?fieldManager=kubectl-edit`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/merge-patch+json', Authorization: 'Bearer fake-cluster-token' },
    body: JSON.stringify(patch),
  });
  expect(response.status).toBe(200);
};
const KUSTOMIZATION_PATH = '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/app';

describe('flux apply (server-side apply against the fake cluster)', () => {
  let fixture: FluxFixture;
  beforeEach(async () => {
    fixture = await startFluxFixture();
  });
  afterEach(() => fixture.close());

  const apply = (versions: Record<string, string | undefined>, force = false) =>
    applyResources(fixture.adapter, {
      sources: fixture.config.sources,
      settings: fluxSettingsOf(fixture.config),
      versions,
      force,
      clock: systemClock,
      logger,
    });

  it('creates both objects, then reports them unchanged, and user fields survive a re-apply', async () => {
    const first = await apply({ app: '1.0.0' });
    expect(first.map((result) => `${result.kind} ${result.action}`)).toEqual([
      'OCIRepository created',
      'Kustomization created',
    ]);
    const repository = fixture.cluster.get(
      'source.toolkit.fluxcd.io/v1',
      'OCIRepository',
      'flux-system',
      'app',
    );
    expect(repository).toMatchObject({
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'ksail-fluxd', 'io.ksail-fluxd/source': 'app' } },
      spec: {
        url: `oci://localhost:${fixture.config.registryPort}/${fixture.project.repository}`,
        ref: { tag: '1.0.0' },
        insecure: true,
        interval: '10m',
      },
    });

    expect((await apply({ app: '1.0.0' })).map((result) => result.action)).toEqual([
      'unchanged',
      'unchanged',
    ]);

    await userPatch(fixture, KUSTOMIZATION_PATH, {
      metadata: { labels: { team: 'blue' } },
      spec: { timeout: '3m' },
    });
    expect((await apply({ app: '1.0.0' })).map((result) => result.action)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    const kustomization = fixture.cluster.get(
      'kustomize.toolkit.fluxcd.io/v1',
      'Kustomization',
      'flux-system',
      'app',
    );
    expect(kustomization).toMatchObject({
      metadata: { labels: { team: 'blue', 'io.ksail-fluxd/source': 'app' } },
      spec: { timeout: '3m', sourceRef: { kind: 'OCIRepository', name: 'app' }, targetNamespace: 'default' },
    });
  });

  it('reports a conflict on a field a user took over, and takes it back with force', async () => {
    await apply({ app: '1.0.0' });
    await userPatch(fixture, KUSTOMIZATION_PATH, { spec: { interval: '5m' } });
    await expect(apply({ app: '1.0.0' })).rejects.toMatchObject({
      code: 'cluster-http',
      message: expect.stringMatching(
        /Kustomization flux-system\/app: fields ksail-fluxd sets are owned by another field manager.*--force/,
      ),
    });
    const forced = await apply({ app: '1.0.0' }, true);
    expect(forced.find((result) => result.kind === 'Kustomization')?.action).toBe('configured');
    expect(
      fixture.cluster.get('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'flux-system', 'app'),
    ).toMatchObject({
      spec: { interval: '10m' },
    });
  });

  it('keeps the tag the patcher set, and skips a source with no version yet', async () => {
    expect((await apply({ app: undefined })).map((result) => result.action)).toEqual(['skipped', 'skipped']);
    expect(fixture.cluster.list('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'flux-system')).toEqual(
      [],
    );
    await apply({ app: '1.0.0' });
    await fixture.adapter.mergePatch('OCIRepository', 'flux-system', 'app', {
      spec: { ref: { tag: '1.0.7' } },
    });
    const again = await apply({ app: '1.0.0' });
    expect(again[0]).toMatchObject({ action: 'unchanged', tag: '1.0.7' });
  });
});

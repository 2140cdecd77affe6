import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { applyResources } from '../../src/flux/apply.js';
import { fluxSettingsOf } from '../../src/flux/generate.js';
import { patchTag } from '../../src/flux/patch-tag.js';
import { reconcileSource, type ReconcileOptions } from '../../src/flux/reconcile.js';
import { createRequestedAtTokens } from '../../src/flux/requested-at.js';
import { appliedMessage, logger, startFluxFixture, type FluxFixture } from './flux-support.js';

describe('flux reconcile (fake Flux controllers, real registry)', () => {
  let fixture: FluxFixture;
  const options = (timeoutMs = 30_000): ReconcileOptions => ({
    clock: systemClock,
    logger,
    tokens: createRequestedAtTokens(),
    timeoutMs,
  });
  const target = (expected?: { tag: string; digest: string }) => ({
    namespace: 'flux-system',
    source: 'app',
    expected,
  });

  beforeEach(async () => {
    fixture = await startFluxFixture();
    await fixture.push('1.0.0', 'one');
    await applyResources(fixture.adapter, {
      sources: fixture.config.sources,
      settings: fluxSettingsOf(fixture.config),
      versions: { app: '1.0.0' },
      clock: systemClock,
      logger,
    });
  });
  afterEach(() => fixture.close());

  it('push, patch tag, reconcile: the cluster shows the new content at <tag>@<digest>', async () => {
    const first = await reconcileSource(fixture.adapter, target(), options());
    expect(appliedMessage(fixture.cluster)).toBe('one');
    expect(first.revision).toMatch(/^1\.0\.0@sha256:[0-9a-f]{64}$/);

    const pushed = await fixture.push('1.0.1', 'two');
    await patchTag(fixture.adapter, {
      namespace: 'flux-system',
      name: 'app',
      tag: '1.0.1',
      clock: systemClock,
      logger,
    });
    const result = await reconcileSource(
      fixture.adapter,
      target({ tag: pushed.tag, digest: pushed.manifestDigest }),
      options(),
    );
    expect(result.revision).toBe(pushed.revision);
    expect(result.revision).toBe(`1.0.1@${pushed.manifestDigest}`);
    expect(appliedMessage(fixture.cluster)).toBe('two');
    expect(result.durations.source).toBeGreaterThanOrEqual(0);
    expect(result.durations.kustomization).toBeGreaterThanOrEqual(0);
    const kustomization = fixture.cluster.get(
      'kustomize.toolkit.fluxcd.io/v1',
      'Kustomization',
      'flux-system',
      'app',
    );
    expect(kustomization).toMatchObject({ status: { lastAppliedRevision: pushed.revision } });

    // It waited with watches on the one object (not by polling), and asked with server-side apply / merge patches.
    const watches = fixture.cluster.requests.filter((request) => request.query.watch === 'true');
    expect(watches.length).toBeGreaterThanOrEqual(4);
    expect(watches.every((request) => request.query.fieldSelector === 'metadata.name=app')).toBe(true);
    const patches = fixture.cluster.requests.filter((request) => request.method === 'PATCH');
    expect(new Set(patches.map((request) => request.contentType))).toEqual(
      new Set(['application/apply-patch+yaml', 'application/merge-patch+json']),
    );
    expect(
      patches
        .filter((r) => r.contentType === 'application/apply-patch+yaml')
        .every((r) => r.query.fieldManager === 'ksail-fluxd' && r.query.force === 'false'),
    ).toBe(true);
  });

  it('patches the tag through injected write conflicts', async () => {
    const pushed = await fixture.push('1.0.1', 'two');
    fixture.cluster.faults.conflictNextWrites(2);
    const patched = await patchTag(fixture.adapter, {
      namespace: 'flux-system',
      name: 'app',
      tag: '1.0.1',
      clock: systemClock,
      logger,
    });
    expect(patched).toEqual({ outcome: 'patched', attempts: 3 });
    expect(
      fixture.cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'flux-system', 'app'),
    ).toMatchObject({
      spec: { ref: { tag: '1.0.1' } },
    });
    fixture.cluster.faults.conflictNextWrites(2);
    const result = await reconcileSource(
      fixture.adapter,
      target({ tag: '1.0.1', digest: pushed.manifestDigest }),
      options(),
    );
    expect(result.revision).toBe(pushed.revision);
  });

  it("fails fast with Flux's message when the registry fetch fails", async () => {
    fixture.cluster.faults.failRegistryFetch(true, 'GET http://registry/v2/: connection refused');
    const started = performance.now();
    const error = await reconcileSource(fixture.adapter, target(), options(60_000)).catch(
      (caught: unknown) => caught,
    );
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'reconcile-failed' });
    expect((error as Error).message).toMatch(
      /Flux could not reconcile OCIRepository flux-system\/app: OCIArtifactPullFailed: .*connection refused/,
    );
    expect(elapsed).toBeLessThan(5000);
  });

  it('re-creates a deleted OCIRepository when patching its tag', async () => {
    const response = await fetch(
      `${fixture.cluster.url}/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/ocirepositories/app`,
      { method: 'DELETE', headers: { Authorization: 'Bearer fake-cluster-token' } },
    );
    expect(response.ok).toBe(true);
    await expect
      .poll(() => fixture.cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'flux-system', 'app'))
      .toBeUndefined();
    const result = await patchTag(fixture.adapter, {
      namespace: 'flux-system',
      name: 'app',
      tag: '1.0.0',
      clock: systemClock,
      logger,
      recreate: async (tag) => {
        await applyResources(fixture.adapter, {
          sources: fixture.config.sources,
          settings: fluxSettingsOf(fixture.config),
          versions: { app: tag },
          clock: systemClock,
          logger,
        });
      },
    });
    expect(result.outcome).toBe('recreated');
    expect(
      fixture.cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'flux-system', 'app'),
    ).toMatchObject({
      spec: { ref: { tag: '1.0.0' } },
    });
  });
});

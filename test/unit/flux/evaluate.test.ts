import { describe, expect, it } from 'vitest';
import { evaluateKustomization, evaluateSource } from '../../../src/flux/evaluate.js';
import { HELD_ANNOTATION } from '../../../src/flux/hold.js';
import { fluxObject } from './flux-objects.js';

const TOKEN = '2026-11-26T10:11:12.123456789Z';
const OLD = '2026-11-26T10:00:00.000000001Z';
const REVISION = '1.0.3@sha256:abc';
const ready = { status: 'True' as const, reason: 'Succeeded', message: 'stored artifact' };
const PULL_FAILED = {
  status: 'False' as const,
  reason: 'OCIArtifactPullFailed',
  message:
    'failed to determine artifact digest: GET http://localhost:5000/v2/p/app/manifests/1.0.3: MANIFEST_UNKNOWN',
};
const retrying = { status: 'True' as const, reason: 'ProgressingWithRetry', message: 'building artifact' };

describe('evaluateSource', () => {
  it('is done when Flux handled this token, Ready for the current generation, serving the revision', () => {
    const object = fluxObject('OCIRepository', { handled: TOKEN, ready, revision: REVISION });
    expect(evaluateSource(object, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'done',
      revision: REVISION,
    });
    expect(evaluateSource(object, { token: TOKEN })).toEqual({ state: 'done', revision: REVISION });
  });

  it('does not count a stale Ready=True from an earlier request', () => {
    const object = fluxObject('OCIRepository', { handled: OLD, ready, revision: REVISION });
    const result = evaluateSource(object, { token: TOKEN, revision: REVISION });
    expect(result.state).toBe('pending');
    expect(result).toMatchObject({ seen: expect.stringContaining(`lastHandledReconcileAt=${OLD}`) });
  });

  it('waits while the Ready condition is about an older generation', () => {
    const object = fluxObject('OCIRepository', {
      generation: 3,
      observedGeneration: 2,
      handled: TOKEN,
      ready: { ...ready, observedGeneration: 2 },
      revision: REVISION,
    });
    expect(evaluateSource(object, { token: TOKEN }).state).toBe('pending');
  });

  // Real source-controller after a tag move to a missing tag: observedGeneration stays at the last good generation
  // (reconcile.go ComputeReconcileResult), Ready=False carries the FetchFailed reason for the new generation.
  it('fails at once on a failure after a spec change, although status.observedGeneration lags', () => {
    const object = fluxObject('OCIRepository', {
      generation: 3,
      observedGeneration: 2,
      handled: TOKEN,
      reconciling: retrying,
      ready: PULL_FAILED,
      revision: '1.0.2@sha256:old',
    });
    expect(evaluateSource(object, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'failed',
      reason: 'OCIArtifactPullFailed',
      message: PULL_FAILED.message,
      retrying: true,
    });
    // A new object (the CRD defaults observedGeneration to -1) that never succeeded.
    const fresh = fluxObject('OCIRepository', {
      generation: 1,
      observedGeneration: -1,
      handled: TOKEN,
      ready: PULL_FAILED,
    });
    expect(evaluateSource(fresh, { token: TOKEN })).toMatchObject({ state: 'failed', retrying: true });
  });

  it('does not fail on a stale Ready=False: from before the token, or for an older generation', () => {
    expect(
      evaluateSource(fluxObject('OCIRepository', { handled: OLD, ready: PULL_FAILED }), { token: TOKEN })
        .state,
    ).toBe('pending');
    const olderGeneration = fluxObject('OCIRepository', {
      generation: 3,
      observedGeneration: 2,
      handled: TOKEN,
      ready: { ...PULL_FAILED, observedGeneration: 2 },
    });
    expect(evaluateSource(olderGeneration, { token: TOKEN }).state).toBe('pending');
  });

  it('waits while Ready is Unknown (progressing) or missing, and while the object does not exist', () => {
    const progressing = fluxObject('OCIRepository', {
      handled: TOKEN,
      ready: { status: 'Unknown', reason: 'Progressing' },
    });
    expect(evaluateSource(progressing, { token: TOKEN }).state).toBe('pending');
    expect(evaluateSource(fluxObject('OCIRepository', { handled: TOKEN }), { token: TOKEN }).state).toBe(
      'pending',
    );
    expect(evaluateSource(undefined, { token: TOKEN })).toEqual({
      state: 'pending',
      seen: 'the object does not exist',
    });
  });

  it('fails without retry on Stalled=True for the current generation (URLInvalid)', () => {
    const stalled = { status: 'True' as const, reason: 'URLInvalid', message: 'URL validation failed' };
    const object = fluxObject('OCIRepository', {
      handled: TOKEN,
      stalled,
      ready: { ...stalled, status: 'False' },
    });
    expect(evaluateSource(object, { token: TOKEN })).toEqual({
      state: 'failed',
      reason: 'URLInvalid',
      message: 'URL validation failed',
      retrying: false,
    });
    const older = fluxObject('OCIRepository', {
      generation: 3,
      handled: TOKEN,
      stalled: { ...stalled, observedGeneration: 2 },
    });
    expect(evaluateSource(older, { token: TOKEN }).state).toBe('pending');
  });

  it('reports a suspended source at once, though Flux records the token on it', () => {
    const object = fluxObject('OCIRepository', {
      handled: TOKEN,
      ready,
      revision: REVISION,
      spec: { suspend: true },
    });
    expect(evaluateSource(object, { token: TOKEN, revision: REVISION })).toEqual({ state: 'suspended' });
  });

  it('is superseded once the tag moved past the expected one', () => {
    const object = fluxObject('OCIRepository', { handled: OLD, spec: { ref: { tag: '1.0.4' } } });
    expect(evaluateSource(object, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'superseded',
      by: '1.0.4',
    });
    const same = fluxObject('OCIRepository', {
      handled: TOKEN,
      ready,
      revision: REVISION,
      spec: { ref: { tag: '1.0.3' } },
    });
    expect(evaluateSource(same, { token: TOKEN, revision: REVISION }).state).toBe('done');
  });

  it('reports what Flux says of a tag someone else set, older or not semver', () => {
    const failing = fluxObject('OCIRepository', {
      handled: TOKEN,
      ready: PULL_FAILED,
      spec: { ref: { tag: 'oops' } },
    });
    expect(evaluateSource(failing, { token: TOKEN, revision: REVISION })).toMatchObject({
      state: 'failed',
      reason: 'OCIArtifactPullFailed',
    });
    const older = fluxObject('OCIRepository', {
      handled: TOKEN,
      ready,
      revision: '1.0.1@sha256:old',
      spec: { ref: { tag: '1.0.1' } },
    });
    expect(evaluateSource(older, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'superseded',
      by: '1.0.1',
    });
  });
});

describe('evaluateKustomization', () => {
  it('is done when it handled the token, is Ready and applied the source revision', () => {
    const object = fluxObject('Kustomization', { handled: TOKEN, ready, lastAppliedRevision: REVISION });
    expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'done',
      revision: REVISION,
    });
  });

  it('waits while it applied an older revision (its cache of the source has not caught up)', () => {
    const object = fluxObject('Kustomization', {
      handled: TOKEN,
      ready,
      lastAppliedRevision: '1.0.2@sha256:old',
      lastAttemptedRevision: '1.0.2@sha256:old',
    });
    expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION }).state).toBe('pending');
  });

  // finalizeStatus sets status.observedGeneration only when Ready=True: a new Kustomization that fails stays at -1.
  it('fails at once on a failure of this revision for this request, and says that Flux retries', () => {
    for (const reason of ['ReconciliationFailed', 'BuildFailed', 'HealthCheckFailed', 'PruneFailed']) {
      const object = fluxObject('Kustomization', {
        generation: 1,
        observedGeneration: -1,
        handled: TOKEN,
        ready: { status: 'False', reason, message: 'ConfigMap/hello namespace not specified\n' },
        lastAttemptedRevision: REVISION,
      });
      expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION })).toEqual({
        state: 'failed',
        reason,
        message: 'ConfigMap/hello namespace not specified\n',
        retrying: true,
      });
      const stale = fluxObject('Kustomization', { handled: OLD, ready: { status: 'False', reason } });
      expect(evaluateKustomization(stale, { token: TOKEN, revision: REVISION }).state).toBe('pending');
    }
  });

  it('does not take the failure of an older attempt for the verdict on this revision', () => {
    const object = fluxObject('Kustomization', {
      handled: TOKEN,
      ready: { status: 'False', reason: 'BuildFailed', message: 'old content' },
      lastAttemptedRevision: '1.0.2@sha256:old',
    });
    expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION }).state).toBe('pending');
  });

  it('keeps waiting on ArtifactFailed and DependencyNotReady, which Flux retries by itself', () => {
    const artifact = fluxObject('Kustomization', {
      handled: TOKEN,
      ready: {
        status: 'False',
        reason: 'ArtifactFailed',
        message: 'Source artifact not found, retrying in 30s',
      },
    });
    expect(evaluateKustomization(artifact, { token: TOKEN, revision: REVISION })).toMatchObject({
      state: 'pending',
      seen: expect.stringContaining('waits for the source artifact'),
    });
    const dependency = fluxObject('Kustomization', {
      handled: TOKEN,
      ready: { status: 'False', reason: 'DependencyNotReady' },
    });
    expect(evaluateKustomization(dependency, { token: TOKEN, revision: REVISION }).state).toBe('pending');
  });

  it('is superseded when Flux attempted a newer revision', () => {
    const object = fluxObject('Kustomization', {
      handled: TOKEN,
      ready,
      lastAppliedRevision: '1.0.4@sha256:new',
      lastAttemptedRevision: '1.0.4@sha256:new',
    });
    expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'superseded',
      by: '1.0.4',
    });
  });

  it('reports a user suspension at once, never the stale success Flux leaves on it', () => {
    const suspended = fluxObject('Kustomization', {
      handled: TOKEN,
      ready,
      lastAppliedRevision: REVISION,
      spec: { suspend: true },
    });
    expect(evaluateKustomization(suspended, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'suspended',
    });
    // Our own Manual-mode hold came back: a newer push is held for the next trigger.
    const held = fluxObject('Kustomization', {
      handled: TOKEN,
      spec: { suspend: true },
      annotations: { [HELD_ANNOTATION]: 'true' },
    });
    expect(evaluateKustomization(held, { token: TOKEN, revision: REVISION })).toEqual({
      state: 'superseded',
      by: undefined,
    });
  });
});

describe('after a push, when Flux acts on the new revision by itself', () => {
  const own = { token: undefined, revision: REVISION, fluxActsOnItsOwn: true };

  it('the source serving exactly the new revision answers without a token; a request does not', () => {
    const object = fluxObject('OCIRepository', { handled: OLD, ready, revision: REVISION });
    expect(evaluateSource(object, own)).toEqual({ state: 'done', revision: REVISION });
    expect(evaluateSource(object, { token: TOKEN, revision: REVISION }).state).toBe('pending');
    const older = fluxObject('OCIRepository', { handled: OLD, ready, revision: '1.0.2@sha256:old' });
    expect(evaluateSource(older, own).state).toBe('pending');
    // A failure is only ever Flux's answer to our token: it may be from before the push.
    const failed = fluxObject('OCIRepository', { handled: OLD, ready: PULL_FAILED });
    expect(evaluateSource(failed, own).state).toBe('pending');
  });

  it('the Kustomization applying, or failing to apply, exactly the new revision answers without a token', () => {
    const applied = fluxObject('Kustomization', {
      handled: OLD,
      ready,
      lastAppliedRevision: REVISION,
      lastAttemptedRevision: REVISION,
    });
    expect(evaluateKustomization(applied, own)).toEqual({ state: 'done', revision: REVISION });
    const failed = fluxObject('Kustomization', {
      handled: OLD,
      ready: {
        status: 'False',
        reason: 'ReconciliationFailed',
        message: 'ConfigMap/x namespace not specified',
      },
      lastAppliedRevision: '1.0.2@sha256:old',
      lastAttemptedRevision: REVISION,
    });
    expect(evaluateKustomization(failed, own)).toMatchObject({
      state: 'failed',
      reason: 'ReconciliationFailed',
    });
    const stale = fluxObject('Kustomization', {
      handled: OLD,
      ready: { status: 'False', reason: 'BuildFailed' },
      lastAttemptedRevision: '1.0.2@sha256:old',
    });
    expect(evaluateKustomization(stale, own).state).toBe('pending');
    expect(evaluateKustomization(applied, { token: TOKEN, revision: REVISION }).state).toBe('pending');
  });
});

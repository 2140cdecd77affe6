import { describe, expect, it } from 'vitest';
import { evaluateKustomization, evaluateSource } from '../../../src/flux/evaluate.js';
import { fluxObject } from './flux-objects.js';

const TOKEN = '2026-11-26T10:11:12.123456789Z';
const OLD = '2026-11-26T10:00:00.000000001Z';
const REVISION = '1.0.3@sha256:abc';
const ready = { status: 'True' as const, reason: 'Succeeded', message: 'stored artifact' };

describe('evaluateSource', () => {
  it('is done when Flux handled this token, on the current generation, Ready and serving the revision', () => {
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

  it('waits while the generation is not observed yet', () => {
    const object = fluxObject('OCIRepository', {
      generation: 3,
      observedGeneration: 2,
      handled: TOKEN,
      ready,
      revision: REVISION,
    });
    expect(evaluateSource(object, { token: TOKEN }).state).toBe('pending');
  });

  it('waits while it serves another revision', () => {
    const object = fluxObject('OCIRepository', { handled: TOKEN, ready, revision: '1.0.2@sha256:old' });
    const result = evaluateSource(object, { token: TOKEN, revision: REVISION });
    expect(result).toMatchObject({
      state: 'pending',
      seen: expect.stringContaining(`waiting for ${REVISION}`),
    });
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

  it('fails fast on FetchFailed / OCIArtifactPullFailed for this request (FR-013)', () => {
    for (const reason of ['FetchFailed', 'OCIArtifactPullFailed']) {
      const object = fluxObject('OCIRepository', {
        handled: TOKEN,
        ready: { status: 'False', reason, message: 'failed to pull artifact: 404 Not Found' },
      });
      expect(evaluateSource(object, { token: TOKEN, revision: REVISION })).toEqual({
        state: 'failed',
        reason,
        message: 'failed to pull artifact: 404 Not Found',
      });
    }
  });

  it('does not fail on a stale Ready=False: from before the token, or for an older generation', () => {
    const failed = { status: 'False' as const, reason: 'FetchFailed', message: 'old failure' };
    expect(
      evaluateSource(fluxObject('OCIRepository', { handled: OLD, ready: failed }), { token: TOKEN }).state,
    ).toBe('pending');
    const olderGeneration = fluxObject('OCIRepository', {
      generation: 3,
      observedGeneration: 2,
      handled: TOKEN,
      ready: { ...failed, observedGeneration: 2 },
    });
    expect(evaluateSource(olderGeneration, { token: TOKEN }).state).toBe('pending');
  });

  it('does not fail fast on a Ready=False reason that may recover', () => {
    const object = fluxObject('OCIRepository', {
      handled: TOKEN,
      ready: { status: 'False', reason: 'Progressing' },
    });
    expect(evaluateSource(object, { token: TOKEN }).state).toBe('pending');
  });

  it('fails on Stalled=True for the current generation', () => {
    const object = fluxObject('OCIRepository', {
      handled: OLD,
      stalled: { status: 'True', reason: 'URLInvalid', message: 'bad url' },
    });
    expect(evaluateSource(object, { token: TOKEN })).toEqual({
      state: 'failed',
      reason: 'URLInvalid',
      message: 'bad url',
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

  it('waits for the applied revision to match the source', () => {
    const object = fluxObject('Kustomization', {
      handled: TOKEN,
      ready,
      lastAppliedRevision: '1.0.2@sha256:old',
    });
    expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION }).state).toBe('pending');
  });

  it('fails fast on terminal reasons for this request, not on stale ones', () => {
    for (const reason of ['ReconciliationFailed', 'ArtifactFailed', 'BuildFailed', 'HealthCheckFailed']) {
      const object = fluxObject('Kustomization', {
        handled: TOKEN,
        ready: { status: 'False', reason, message: 'kustomize build failed' },
      });
      expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION })).toEqual({
        state: 'failed',
        reason,
        message: 'kustomize build failed',
      });
      const stale = fluxObject('Kustomization', { handled: OLD, ready: { status: 'False', reason } });
      expect(evaluateKustomization(stale, { token: TOKEN, revision: REVISION }).state).toBe('pending');
    }
  });

  it('does not fail on DependencyNotReady (it retries)', () => {
    const object = fluxObject('Kustomization', {
      handled: TOKEN,
      ready: { status: 'False', reason: 'DependencyNotReady' },
    });
    expect(evaluateKustomization(object, { token: TOKEN, revision: REVISION }).state).toBe('pending');
  });
});

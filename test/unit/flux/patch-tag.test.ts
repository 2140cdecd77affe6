import { describe, expect, it } from 'vitest';
import type { KsailError } from '../../../src/errors.js';
import type { KubeAdapter } from '../../../src/flux/kube-adapter.js';
import { toClusterError } from '../../../src/flux/kube-errors.js';
import type { KubeObject } from '../../../src/flux/kube-object.js';
import { patchTag } from '../../../src/flux/patch-tag.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createInstantClock } from '../../support/instant-clock.js';

const cluster = { contextName: 'kind-dev', server: 'https://127.0.0.1:6443' };
/** What client-node throws for an HTTP error: ApiException with `code` and the Status body text. */
const httpError = (code: number, reason: string, message = reason): KsailError =>
  toClusterError(cluster, 'patching', { code, body: JSON.stringify({ kind: 'Status', reason, message }) });
const refused = (): KsailError =>
  toClusterError(
    cluster,
    'patching',
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  );

const patched: KubeObject = {
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name: 'app', namespace: 'flux-system' },
};

/** A mergePatch that fails with the given errors in order, then succeeds; records the patches. */
const scripted = (failures: KsailError[]) => {
  const patches: unknown[] = [];
  const adapter: Pick<KubeAdapter, 'mergePatch'> = {
    mergePatch: (_kind, _namespace, _name, patch) => {
      patches.push(patch);
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve(patched);
    },
  };
  return { adapter, patches };
};

const options = (clock = createInstantClock()) => ({
  namespace: 'flux-system',
  name: 'app',
  tag: '1.0.4',
  clock,
  logger: createSilentLogger(),
});

describe('patchTag', () => {
  it('merge-patches only spec.ref.tag', async () => {
    const { adapter, patches } = scripted([]);
    await expect(patchTag(adapter, options())).resolves.toEqual({ outcome: 'patched', attempts: 1 });
    expect(patches).toEqual([{ spec: { ref: { tag: '1.0.4' } } }]);
  });

  it('retries conflicts with exponential backoff on the injected clock', async () => {
    const clock = createInstantClock();
    const { adapter, patches } = scripted([httpError(409, 'Conflict'), httpError(409, 'Conflict')]);
    await expect(patchTag(adapter, options(clock))).resolves.toEqual({ outcome: 'patched', attempts: 3 });
    expect(clock.sleeps).toEqual([200, 400]);
    expect(patches).toHaveLength(3);
  });

  it('retries server errors, throttling and lost connections', async () => {
    const clock = createInstantClock();
    const { adapter } = scripted([
      httpError(503, 'ServiceUnavailable'),
      httpError(429, 'TooManyRequests'),
      refused(),
    ]);
    await expect(patchTag(adapter, options(clock))).resolves.toMatchObject({ attempts: 4 });
    expect(clock.sleeps).toEqual([200, 400, 800]);
  });

  it('gives up after 6 attempts with the last error', async () => {
    const clock = createInstantClock();
    const { adapter } = scripted(
      Array.from({ length: 10 }, () => httpError(500, 'InternalError', 'etcd timeout')),
    );
    await expect(patchTag(adapter, options(clock))).rejects.toMatchObject({
      code: 'cluster-http',
      message: expect.stringContaining('HTTP 500 InternalError: etcd timeout'),
    });
    expect(clock.sleeps).toEqual([200, 400, 800, 1600, 2000]);
  });

  it('does not retry errors that will not go away', async () => {
    const clock = createInstantClock();
    const { adapter } = scripted([httpError(403, 'Forbidden', 'user cannot patch')]);
    await expect(patchTag(adapter, options(clock))).rejects.toMatchObject({
      message: expect.stringContaining('kubectl auth can-i'),
    });
    expect(clock.sleeps).toEqual([]);
  });

  it('re-creates a deleted OCIRepository with the new tag', async () => {
    const { adapter } = scripted([httpError(404, 'NotFound')]);
    const recreated: string[] = [];
    const result = await patchTag(adapter, {
      ...options(),
      recreate: (tag) => {
        recreated.push(tag);
        return Promise.resolve();
      },
    });
    expect(result).toEqual({ outcome: 'recreated', attempts: 1 });
    expect(recreated).toEqual(['1.0.4']);
  });

  it('says to run apply when the object is missing and cannot be re-created', async () => {
    const { adapter } = scripted([httpError(404, 'NotFound')]);
    await expect(patchTag(adapter, options())).rejects.toThrowError(
      /OCIRepository flux-system\/app does not exist.*ksail-fluxd apply/,
    );
  });
});

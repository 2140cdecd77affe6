import { describe, expect, it } from 'vitest';
import { HELD_ANNOTATION, holdKustomization, releaseKustomization } from '../../../src/flux/hold.js';
import type { KubeAdapter } from '../../../src/flux/kube-adapter.js';
import type { KubeObject } from '../../../src/flux/kube-object.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createInstantClock } from '../../support/instant-clock.js';

/** One Kustomization (or none) that merge patches change, as the API server would. */
const cluster = (initial: KubeObject | undefined) => {
  let object = initial;
  const patches: unknown[] = [];
  const merge = (
    target: Record<string, unknown>,
    patch: Record<string, unknown>,
  ): Record<string, unknown> => {
    const out = { ...target };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else if (typeof value === 'object' && !Array.isArray(value))
        out[key] = merge((out[key] as Record<string, unknown>) ?? {}, value as Record<string, unknown>);
      else out[key] = value;
    }
    return out;
  };
  const adapter: Pick<KubeAdapter, 'get' | 'mergePatch'> = {
    get: () => Promise.resolve(object),
    mergePatch: (_kind, _namespace, _name, patch) => {
      patches.push(patch);
      object = merge(
        object as unknown as Record<string, unknown>,
        patch as Record<string, unknown>,
      ) as KubeObject;
      return Promise.resolve(object);
    },
  };
  return { adapter, patches, current: () => object };
};

const kustomization = (
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'app', namespace: 'flux-system', ...(annotations ? { annotations } : {}) },
  spec: { path: './', ...spec },
});

const options = {
  namespace: 'flux-system',
  name: 'app',
  clock: createInstantClock(),
  logger: createSilentLogger(),
};

describe('holding a Kustomization (Manual mode)', () => {
  it('suspends it with a marker, and a release puts it back as it was', async () => {
    const { adapter, current } = cluster(kustomization());
    await expect(holdKustomization(adapter, options)).resolves.toBe(true);
    expect(current()?.spec).toEqual({ path: './', suspend: true });
    expect(current()?.metadata.annotations).toEqual({ [HELD_ANNOTATION]: 'true' });
    await expect(releaseKustomization(adapter, options)).resolves.toBe(true);
    expect(current()?.spec).toEqual({ path: './' });
    expect(current()?.metadata.annotations).toEqual({});
  });

  it('writes nothing when it is already held, missing, or not held by us', async () => {
    const held = cluster(kustomization({ suspend: true }, { [HELD_ANNOTATION]: 'true' }));
    await expect(holdKustomization(held.adapter, options)).resolves.toBe(true);
    expect(held.patches).toEqual([]);

    const missing = cluster(undefined);
    await expect(holdKustomization(missing.adapter, options)).resolves.toBe(false);
    await expect(releaseKustomization(missing.adapter, options)).resolves.toBe(false);
    expect(missing.patches).toEqual([]);

    // `flux suspend kustomization app` by the user: neither taken over nor undone.
    const userSuspended = cluster(kustomization({ suspend: true }));
    await expect(holdKustomization(userSuspended.adapter, options)).resolves.toBe(false);
    await expect(releaseKustomization(userSuspended.adapter, options)).resolves.toBe(false);
    expect(userSuspended.patches).toEqual([]);
    expect(userSuspended.current()?.spec).toEqual({ path: './', suspend: true });
  });
});

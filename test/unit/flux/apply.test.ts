import { describe, expect, it } from 'vitest';
import { applyResources } from '../../../src/flux/apply.js';
import { fluxSettingsOf } from '../../../src/flux/generate.js';
import type { AppliedObject, KubeAdapter } from '../../../src/flux/kube-adapter.js';
import { toClusterError } from '../../../src/flux/kube-errors.js';
import type { KubeObject } from '../../../src/flux/kube-object.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createInstantClock } from '../../support/instant-clock.js';
import { resolvedConfig } from './fixtures.js';

/** Objects by kind/name; an apply that changes nothing keeps the resourceVersion, like the API server. */
const memoryAdapter = (initial: KubeObject[] = []) => {
  const objects = new Map(initial.map((object) => [`${object.kind}/${object.metadata.name}`, object]));
  let version = 100;
  const writes: string[] = [];
  const store = (key: string, next: KubeObject): KubeObject => {
    const before = objects.get(key);
    const changed = JSON.stringify({ ...before, metadata: {} }) !== JSON.stringify({ ...next, metadata: {} });
    const stored = {
      ...next,
      metadata: {
        ...next.metadata,
        resourceVersion: changed || !before ? String(++version) : before.metadata.resourceVersion,
      },
    };
    objects.set(key, stored);
    return stored;
  };
  const adapter: Pick<KubeAdapter, 'list' | 'apply' | 'mergePatch'> = {
    list: (kind) => Promise.resolve([...objects.values()].filter((object) => object.kind === kind)),
    apply: (object: AppliedObject) => {
      writes.push(`apply ${object.kind}/${object.metadata.name}`);
      const key = `${object.kind}/${object.metadata.name}`;
      const before = objects.get(key);
      return Promise.resolve(
        store(key, { ...(before ?? {}), ...(object as unknown as KubeObject), status: before?.status }),
      );
    },
    mergePatch: (kind, _namespace, name, patch) => {
      writes.push(`patch ${kind}/${name} ${JSON.stringify(patch)}`);
      const key = `${kind}/${name}`;
      const before = objects.get(key)!;
      const tag = (patch as { spec: { ref: { tag: string } } }).spec.ref.tag;
      return Promise.resolve(store(key, { ...before, spec: { ...before.spec, ref: { tag } } }));
    },
  };
  return { adapter, objects, writes };
};

const config = resolvedConfig({
  sources: [
    { name: 'app', path: './app' },
    { name: 'new', path: './new' },
  ],
});
const options = (versions: Record<string, string | undefined>, extra = {}) => ({
  sources: config.sources,
  settings: fluxSettingsOf(config),
  versions,
  clock: createInstantClock(),
  logger: createSilentLogger(),
  ...extra,
});

describe('applyResources', () => {
  it('creates, then reports unchanged on a second run', async () => {
    const { adapter } = memoryAdapter();
    const first = await applyResources(adapter, options({ app: '1.0.0', new: '0.1.0' }));
    expect(first.map((result) => `${result.kind}/${result.name} ${result.action}`)).toEqual([
      'OCIRepository/app created',
      'Kustomization/app created',
      'OCIRepository/new created',
      'Kustomization/new created',
    ]);
    const second = await applyResources(adapter, options({ app: '1.0.0', new: '0.1.0' }));
    expect(second.every((result) => result.action === 'unchanged')).toBe(true);
  });

  it('skips a source with no version yet, and its Kustomization (it would reference nothing)', async () => {
    const { adapter, writes } = memoryAdapter();
    const results = await applyResources(adapter, options({ app: '1.0.0', new: undefined }));
    expect(results.slice(2)).toEqual([
      expect.objectContaining({
        kind: 'OCIRepository',
        name: 'new',
        action: 'skipped',
        reason: expect.stringContaining('ksail-fluxd push new'),
      }),
      expect.objectContaining({
        kind: 'Kustomization',
        name: 'new',
        action: 'skipped',
        reason: expect.stringContaining('does not exist'),
      }),
    ]);
    expect(writes).not.toContain('apply OCIRepository/new');
  });

  it("keeps the cluster's tag of an existing OCIRepository (the tag patcher owns it)", async () => {
    const { adapter, objects } = memoryAdapter();
    await applyResources(adapter, options({ app: '1.0.0', new: '0.1.0' }));
    const results = await applyResources(adapter, options({ app: '2.0.0', new: '0.1.0' }));
    expect(results[0]).toMatchObject({ action: 'unchanged', tag: '1.0.0' });
    expect(objects.get('OCIRepository/app')?.spec).toMatchObject({ ref: { tag: '1.0.0' } });
  });

  it('moves existing tags with a merge patch when asked', async () => {
    const { adapter, writes, objects } = memoryAdapter();
    await applyResources(adapter, options({ app: '1.0.0', new: '0.1.0' }));
    const results = await applyResources(
      adapter,
      options({ app: '2.0.0', new: '0.1.0' }, { moveTags: true }),
    );
    expect(results[0]).toMatchObject({ action: 'configured', tag: '2.0.0' });
    expect(writes).toContain('patch OCIRepository/app {"spec":{"ref":{"tag":"2.0.0"}}}');
    expect(objects.get('OCIRepository/app')?.spec).toMatchObject({ ref: { tag: '2.0.0' } });
  });

  it('reports a field-manager conflict with what to do, without retrying it', async () => {
    const { adapter } = memoryAdapter();
    let calls = 0;
    adapter.apply = () => {
      calls += 1;
      return Promise.reject(
        toClusterError({ contextName: 'fake', server: 'http://x' }, 'applying', {
          code: 409,
          body: JSON.stringify({
            reason: 'Conflict',
            message: 'Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.interval',
            details: { causes: [{ type: 'FieldManagerConflict', field: '.spec.interval' }] },
          }),
        }),
      );
    };
    await expect(applyResources(adapter, options({ app: '1.0.0' }))).rejects.toThrowError(
      /owned by another field manager .*kubectl-edit.*ksail-fluxd apply --force/,
    );
    expect(calls).toBe(1);
  });
});

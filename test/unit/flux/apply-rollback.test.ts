import { describe, expect, it } from 'vitest';
import { applyResources } from '../../../src/flux/apply.js';
import { fluxSettingsOf, generateOCIRepository } from '../../../src/flux/generate.js';
import { ROLLED_BACK_ANNOTATION } from '../../../src/flux/kinds.js';
import type { AppliedObject, KubeAdapter } from '../../../src/flux/kube-adapter.js';
import type { KubeObject } from '../../../src/flux/kube-object.js';
import { createSilentLogger } from '../../../src/logger.js';
import { mergePatch } from '../../support/fake-cluster/patch.js';
import { createInstantClock } from '../../support/instant-clock.js';
import { resolvedConfig } from './fixtures.js';

const config = resolvedConfig();
const settings = fluxSettingsOf(config);

/** The OCIRepository `ksail-fluxd rollback` left: at 1.0.1, marked as rolled back from 1.0.2. */
const rolledBack = (): KubeObject => {
  const object = generateOCIRepository(config.sources[0]!, '1.0.1', settings) as unknown as KubeObject;
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { [ROLLED_BACK_ANNOTATION]: '1.0.2' } },
  };
};

/** Objects by kind/name; merge patches follow RFC 7386 (null deletes), as the API server does. */
const memory = (initial: KubeObject[]) => {
  const objects = new Map(initial.map((object) => [`${object.kind}/${object.metadata.name}`, object]));
  const adapter: Pick<KubeAdapter, 'list' | 'apply' | 'mergePatch'> = {
    list: (kind) => Promise.resolve([...objects.values()].filter((object) => object.kind === kind)),
    apply: (object: AppliedObject) => {
      const key = `${object.kind}/${object.metadata.name}`;
      const before = objects.get(key);
      // Server-side apply keeps fields other managers own: the tag patcher's tag and the rollback mark.
      const stored = {
        ...(object as unknown as KubeObject),
        metadata: { ...object.metadata, annotations: before?.metadata.annotations },
        spec: { ...object.spec, ...(before ? { ref: (before.spec as { ref: unknown }).ref } : {}) },
      } as KubeObject;
      objects.set(key, stored);
      return Promise.resolve(stored);
    },
    mergePatch: (kind, _namespace, name, patch) => {
      const key = `${kind}/${name}`;
      const next = mergePatch(objects.get(key), patch) as KubeObject;
      objects.set(key, next);
      return Promise.resolve(next);
    },
  };
  const repository = () => objects.get('OCIRepository/app')!;
  return { adapter, repository };
};

const apply = (adapter: Pick<KubeAdapter, 'list' | 'apply' | 'mergePatch'>, rollback?: 'keep' | 'clear') =>
  applyResources(adapter, {
    sources: config.sources,
    settings,
    versions: { app: '1.0.2' },
    moveTags: true,
    rollback,
    clock: createInstantClock(),
    logger: createSilentLogger(),
  });

describe('applyResources and a rolled-back OCIRepository', () => {
  it('keep: the tag stays where the rollback put it, and the result says so', async () => {
    const { adapter, repository } = memory([rolledBack()]);
    const [result] = await apply(adapter, 'keep');
    expect(result).toMatchObject({ kind: 'OCIRepository', tag: '1.0.1', rolledBackFrom: '1.0.2' });
    expect((repository().spec as { ref: { tag: string } }).ref.tag).toBe('1.0.1');
  });

  it('clear: the tag moves to the version and the mark goes', async () => {
    const { adapter, repository } = memory([rolledBack()]);
    const [result] = await apply(adapter, 'clear');
    expect(result).toMatchObject({ tag: '1.0.2', action: 'configured' });
    expect(result?.rolledBackFrom).toBeUndefined();
    expect((repository().spec as { ref: { tag: string } }).ref.tag).toBe('1.0.2');
    expect(repository().metadata.annotations?.[ROLLED_BACK_ANNOTATION]).toBeUndefined();
  });

  it('without the option, tags move as before (the mark stays)', async () => {
    const { adapter, repository } = memory([rolledBack()]);
    await apply(adapter);
    expect((repository().spec as { ref: { tag: string } }).ref.tag).toBe('1.0.2');
  });
});

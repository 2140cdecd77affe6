import { describe, expect, it } from 'vitest';
import { planPrune, type TaggedManifest } from '../../../src/registry/prune.js';

const tagged = (...tags: string[]): TaggedManifest[] => tags.map((tag) => ({ tag, digest: `sha256:${tag}` }));

describe('planPrune', () => {
  it('keeps the N highest semver versions and deletes the rest, oldest included', () => {
    const plan = planPrune(tagged('1.0.0', '1.0.10', '1.0.2', '1.0.9', '1.1.0'), 2);
    expect(plan.kept).toEqual(['1.1.0', '1.0.10']);
    expect(plan.delete.flatMap((d) => d.tags).sort()).toEqual(['1.0.0', '1.0.2', '1.0.9']);
    expect(plan.delete.map((d) => d.digest)).toContain('sha256:1.0.9');
    expect(plan.skipped).toEqual([]);
  });

  it('never deletes the highest version, even with keep 0', () => {
    expect(planPrune(tagged('1.0.0', '2.0.0'), 0).kept).toEqual(['2.0.0']);
  });

  it('keeps versions in use by the cluster', () => {
    const plan = planPrune(tagged('1.0.0', '1.0.1', '1.0.2', '1.0.3'), 1, ['1.0.1', '9.9.9']);
    expect(plan.kept).toEqual(['1.0.3', '1.0.1']);
    expect(plan.delete.flatMap((d) => d.tags).sort()).toEqual(['1.0.0', '1.0.2']);
  });

  it('leaves non-semver tags alone and skips manifests they share', () => {
    const tags: TaggedManifest[] = [
      ...tagged('1.0.0', '1.0.1', '1.0.2'),
      { tag: 'latest', digest: 'sha256:1.0.0' },
      { tag: 'v1', digest: 'sha256:other' },
    ];
    const plan = planPrune(tags, 1);
    expect(plan.delete).toEqual([{ digest: 'sha256:1.0.1', tags: ['1.0.1'] }]);
    expect(plan.skipped).toEqual([{ tag: '1.0.0', reason: 'same manifest as kept tag latest' }]);
  });

  it('skips a manifest that a kept version shares, and deletes a shared one once', () => {
    const tags: TaggedManifest[] = [
      { tag: '1.0.3', digest: 'sha256:a' },
      { tag: '1.0.2', digest: 'sha256:a' },
      { tag: '1.0.1', digest: 'sha256:b' },
      { tag: '1.0.0', digest: 'sha256:b' },
    ];
    const plan = planPrune(tags, 1);
    expect(plan.skipped).toEqual([{ tag: '1.0.2', reason: 'same manifest as kept tag 1.0.3' }]);
    expect(plan.delete).toEqual([{ digest: 'sha256:b', tags: ['1.0.1', '1.0.0'] }]);
  });

  it('skips tags that vanished between listing and HEAD, and handles an empty repository', () => {
    const plan = planPrune([...tagged('1.0.1'), { tag: '1.0.0', digest: undefined }], 1);
    expect(plan.skipped).toEqual([{ tag: '1.0.0', reason: 'tag disappeared while pruning' }]);
    expect(planPrune([], 3)).toEqual({ kept: [], delete: [], skipped: [] });
  });
});

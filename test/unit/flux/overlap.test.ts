import { describe, expect, it } from 'vitest';
import { findOverlaps } from '../../../src/flux/overlap.js';
import type { KubeObject } from '../../../src/flux/kube-object.js';
import { resolvedConfig } from './fixtures.js';

const repository = (name: string, url: string): KubeObject => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name, namespace: 'flux-system' },
  spec: { url, ref: { tag: 'dev' } },
});
const kustomization = (name: string, source: string, path = './'): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace: 'flux-system' },
  spec: { path, prune: true, sourceRef: { kind: 'OCIRepository', name: source } },
});

// Sources under /work/demo (fixtures.ts): all → ./all, apps → ./all/apps; repositories demo/<name>.
const config = resolvedConfig({
  sources: [
    { name: 'all', path: 'all' },
    { name: 'apps', path: 'all/apps' },
    { name: 'solo', path: 'solo' },
  ],
});

describe('findOverlaps', () => {
  it('finds our nested sources, both ways, and leaves each source’s own Kustomization alone', () => {
    const overlaps = findOverlaps({
      config,
      ksail: undefined,
      repositories: ['all', 'apps', 'solo'].map((name) =>
        repository(name, `oci://local-registry:5000/demo/${name}`),
      ),
      kustomizations: ['all', 'apps', 'solo'].map((name) => kustomization(name, name)),
    });
    expect(overlaps.map((o) => `${o.source} × ${o.kustomization}`).sort()).toEqual([
      'all × flux-system/apps',
      'apps × flux-system/all',
    ]);
  });

  it('ignores Kustomizations of other registries and of Git sources', () => {
    const overlaps = findOverlaps({
      config,
      ksail: undefined,
      repositories: [repository('far', 'oci://ghcr.io/demo/all')],
      kustomizations: [
        kustomization('far', 'far'),
        {
          ...kustomization('git', 'x'),
          spec: { path: './', sourceRef: { kind: 'GitRepository', name: 'x' } },
        },
      ],
    });
    expect(overlaps).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  assertPositiveInterval,
  createRequest,
  highestVersion,
  inClusterEndpoint,
  mergeRequests,
  nextVersion,
  ociRevision,
  ociUrl,
  parseDuration,
  registryEndpoint,
  sortVersionsDescending,
  validateExplicitVersion,
  validateRegistryEndpoint,
  validateSourceRef,
  validateVersion,
} from '../../../src/model/index.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('OCIRegistry.Endpoint must be localhost:<port>', () => {
  it('accepts localhost with a valid port', () => {
    expect(validateRegistryEndpoint('localhost:5000')).toBe(5000);
    expect(registryEndpoint(65535)).toBe('localhost:65535');
  });
  it.each([
    '127.0.0.1:5000',
    'localhost',
    'localhost:0',
    'localhost:65536',
    'registry:5000',
    'localhost:50a',
  ])('rejects %s', (endpoint) =>
    expect(code(() => validateRegistryEndpoint(endpoint))).toBe('model-invalid'),
  );
  it('uses the container name inside a cluster network (FR-004)', () => {
    expect(inClusterEndpoint({ containerName: 'local-registry', port: 5001, network: 'kind' })).toBe(
      'local-registry:5000',
    );
    expect(inClusterEndpoint({ containerName: 'local-registry', port: 5001 })).toBe('localhost:5001');
  });
});

describe('OCIArtifact.Version must be semver', () => {
  it.each(['1.0.0', '0.1.2-rc.1'])('accepts %s', (version) => expect(validateVersion(version)).toBe(version));
  it.each(['v1.0.0', '1.0', 'latest', '01.0.0', '', '2.0.0+build.5'])('rejects %s', (version) =>
    expect(code(() => validateVersion(version))).toBe('version-invalid'),
  );
});

describe('FluxOCIRepository.spec.url must be oci://<endpoint>/<repository>', () => {
  it('formats and validates', () => {
    expect(ociUrl('localhost:5000', 'ksail/app')).toBe('oci://localhost:5000/ksail/app');
    expect(code(() => ociUrl('localhost:5000', '/abs'))).toBe('model-invalid');
  });
  it('uses Flux revision format <tag>@<digest>', () => {
    expect(ociRevision('1.0.0', 'sha256:abc')).toBe('1.0.0@sha256:abc');
  });
});

describe('Kustomization.sourceRef must name an existing OCIRepository in the same namespace', () => {
  const kustomization = {
    metadata: { name: 'app', namespace: 'flux-system' },
    spec: {
      sourceRef: { kind: 'OCIRepository' as const, name: 'app' },
      path: './',
      prune: true,
      interval: '1m',
    },
  };
  it('accepts an existing one', () => {
    expect(() => validateSourceRef(kustomization, [{ name: 'app', namespace: 'flux-system' }])).not.toThrow();
  });
  it('rejects a missing one or another namespace', () => {
    expect(code(() => validateSourceRef(kustomization, [{ name: 'app', namespace: 'other' }]))).toBe(
      'flux-invalid-reference',
    );
    const cross = {
      ...kustomization,
      spec: { ...kustomization.spec, sourceRef: { ...kustomization.spec.sourceRef, namespace: 'x' } },
    };
    expect(code(() => validateSourceRef(cross, [{ name: 'app', namespace: 'x' }]))).toBe(
      'flux-invalid-reference',
    );
  });
});

describe('interval must be > 0', () => {
  it('parses Go durations', () => {
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
  });
  it('rejects zero and garbage', () => {
    expect(code(() => assertPositiveInterval('0s'))).toBe('model-invalid');
    expect(code(() => assertPositiveInterval('-1m'))).toBe('model-invalid');
    expect(code(() => assertPositiveInterval('1 minute'))).toBe('model-invalid');
  });
});

describe('version selection', () => {
  it('bumps the highest semver tag and ignores the rest', () => {
    const tags = ['latest', '1.0.9', '1.0.10', 'v2.0.0', '1.0.2', 'main'];
    expect(highestVersion(tags)).toBe('1.0.10');
    expect(nextVersion(tags, 'patch', '1.0.0')).toBe('1.0.11');
    expect(nextVersion(tags, 'minor', '1.0.0')).toBe('1.1.0');
    expect(nextVersion(tags, 'major', '1.0.0')).toBe('2.0.0');
    expect(sortVersionsDescending(tags)).toEqual(['1.0.10', '1.0.9', '1.0.2']);
  });
  it('starts at initialVersion when there is no semver tag', () => {
    expect(nextVersion([], 'patch', '1.0.0')).toBe('1.0.0');
    expect(nextVersion(['latest'], 'minor', '0.3.0')).toBe('0.3.0');
  });
  it('requires an explicit version to be higher than the current one', () => {
    expect(validateExplicitVersion('1.2.0', '1.1.9')).toBe('1.2.0');
    expect(code(() => validateExplicitVersion('1.1.9', '1.1.9'))).toBe('version-invalid');
    expect(validateExplicitVersion('0.0.1', undefined)).toBe('0.0.1');
  });
});

describe('ReconciliationRequest', () => {
  const target = (name: string) => ({ kind: 'OCIRepository' as const, name, namespace: 'flux-system' });
  it('needs targets and an RFC 3339 time', () => {
    expect(
      code(() =>
        createRequest({ id: '1', targets: [], mode: 'Manual', requestedAt: '2026-01-01T00:00:00Z' }),
      ),
    ).toBe('model-invalid');
    expect(
      code(() =>
        createRequest({ id: '1', targets: [target('a')], mode: 'Manual', requestedAt: 'yesterday' }),
      ),
    ).toBe('model-invalid');
  });
  it('merges pending requests without duplicating targets', () => {
    const first = {
      id: '1',
      targets: [target('a')],
      mode: 'Manual' as const,
      requestedAt: '2026-01-01T00:00:00Z',
    };
    const second = {
      id: '2',
      targets: [target('a'), target('b')],
      mode: 'Manual' as const,
      requestedAt: '2026-01-01T00:00:01Z',
    };
    const merged = mergeRequests(first, second);
    expect(merged.id).toBe('1');
    expect(merged.targets.map((t) => t.name)).toEqual(['a', 'b']);
  });
});

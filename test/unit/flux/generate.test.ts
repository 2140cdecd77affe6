import { describe, expect, it } from 'vitest';
import { isKsailError } from '../../../src/errors.js';
import { fluxSettingsOf, generateSourceResources } from '../../../src/flux/generate.js';
import { validateSourceRef } from '../../../src/model/flux-resources.js';
import { resolvedConfig } from './fixtures.js';
import { FLUX_CRD_DIR } from '../../support/fake-cluster/flux-crds.js';
import {
  ENCODED_FLUX_SCHEMAS,
  loadFluxCrdSchemas,
  validateSchema,
  type Schema,
} from './json-schema-subset.js';

const crdSchemas = loadFluxCrdSchemas();
/** Flux's real CRD schemas when the reference files exist; the encoded subset always. */
const schemaSets: [string, Record<string, Schema>][] = [
  ...(crdSchemas ? [[`Flux's CRDs in ${FLUX_CRD_DIR}`, crdSchemas] as [string, Record<string, Schema>]] : []),
  ['the encoded schema subset', ENCODED_FLUX_SCHEMAS],
];

describe('generated Flux objects (FR-008, FR-009)', () => {
  const raw = {
    registryPort: 5050,
    fluxInterval: '30s',
    sources: [
      {
        name: 'app',
        path: './app',
        targetNamespace: 'apps',
        prune: false,
        kustomizationPath: './overlays/dev',
      },
      { name: 'infra', path: './infra' },
    ],
  };
  const config = resolvedConfig(raw);
  const [app, infra] = config.sources;

  it('builds the OCIRepository and Kustomization of a source', () => {
    const { ociRepository, kustomization } = generateSourceResources(app!, '1.2.3', fluxSettingsOf(config));
    const labels = { 'app.kubernetes.io/managed-by': 'ksail-fluxd', 'io.ksail-fluxd/source': 'app' };
    expect(ociRepository).toEqual({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'app', namespace: 'flux-system', labels },
      spec: { url: 'oci://localhost:5050/demo/app', interval: '30s', ref: { tag: '1.2.3' }, insecure: true },
    });
    expect(kustomization).toEqual({
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'app', namespace: 'flux-system', labels },
      spec: {
        sourceRef: { kind: 'OCIRepository', name: 'app' },
        path: './overlays/dev',
        prune: false,
        targetNamespace: 'apps',
        interval: '30s',
      },
    });
    expect(() => validateSourceRef(kustomization, [ociRepository.metadata])).not.toThrow();
  });

  it('defaults path to ./, prunes, omits targetNamespace, and uses the flux namespace from the config', () => {
    const custom = resolvedConfig({ ...raw, flux: { namespace: 'gitops' } });
    const { kustomization, ociRepository } = generateSourceResources(infra!, '0.1.0', fluxSettingsOf(custom));
    expect(kustomization.spec).toEqual({
      sourceRef: { kind: 'OCIRepository', name: 'infra' },
      path: './',
      prune: true,
      interval: '30s',
    });
    expect(ociRepository.metadata.namespace).toBe('gitops');
    expect(kustomization.metadata.namespace).toBe('gitops');
  });

  it('uses the in-cluster registry endpoint when the cluster has a network (FR-004)', () => {
    const networked = resolvedConfig({
      ...raw,
      cluster: { network: 'kind' },
      registry: { name: 'ksail-registry' },
    });
    const { ociRepository } = generateSourceResources(app!, '1.0.0', fluxSettingsOf(networked));
    expect(ociRepository.spec.url).toBe('oci://ksail-registry:5000/demo/app');
  });

  it('rejects a tag that is not an OCI tag', () => {
    expect(() => generateSourceResources(app!, 'not a tag', fluxSettingsOf(config))).toThrowError(
      /not a valid OCI tag/,
    );
  });

  describe.each(schemaSets)('against %s', (_origin, schemas) => {
    it('has a schema for both kinds', () => {
      expect(Object.keys(schemas).sort()).toEqual(['Kustomization', 'OCIRepository']);
    });

    it.each(config.sources.map((source) => [source.name, source] as const))(
      'source %s validates',
      (_name, source) => {
        const { ociRepository, kustomization } = generateSourceResources(
          source,
          '1.0.0',
          fluxSettingsOf(config),
        );
        expect(validateSchema(schemas.OCIRepository!, ociRepository)).toEqual([]);
        expect(validateSchema(schemas.Kustomization!, kustomization)).toEqual([]);
      },
    );

    it('catches objects Flux would reject (the validator is not a no-op)', () => {
      const { ociRepository, kustomization } = generateSourceResources(app!, '1.0.0', fluxSettingsOf(config));
      const badRepository = {
        ...ociRepository,
        spec: { ...ociRepository.spec, url: 'http://x/y', interval: '1 minute', extra: 1 },
      };
      expect(validateSchema(schemas.OCIRepository!, badRepository)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\.spec\.url: .* does not match/),
          expect.stringMatching(/^\.spec\.interval: .* does not match/),
          '.spec.extra: unknown field',
        ]),
      );
      const { interval: _interval, ...noInterval } = kustomization.spec;
      const badKustomization = {
        ...kustomization,
        spec: { ...noInterval, sourceRef: { kind: 'HelmRepository', name: 'x' } },
      };
      expect(validateSchema(schemas.Kustomization!, badKustomization)).toEqual(
        expect.arrayContaining([
          '.spec.interval: required',
          expect.stringMatching(/^\.spec\.sourceRef\.kind: must be one of/),
        ]),
      );
    });
  });

  it('refuses a Kustomization whose sourceRef names no OCIRepository', () => {
    const { kustomization } = generateSourceResources(app!, '1.0.0', fluxSettingsOf(config));
    try {
      validateSourceRef(kustomization, [{ name: 'other', namespace: 'flux-system' }]);
      expect.unreachable();
    } catch (error) {
      expect(isKsailError(error, 'flux-invalid-reference')).toBe(true);
    }
  });
});

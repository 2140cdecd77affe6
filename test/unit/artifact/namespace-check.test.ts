import { describe, expect, it, vi } from 'vitest';
import { createValidationCache, findManifestProblems, formatProblem } from '../../../src/artifact/index.js';
import { checkYaml } from '../../../src/artifact/manifest-check.js';
import { quickYamlCheck } from '../../../src/artifact/quick-check.js';
import type { ValidationInput } from '../../../src/artifact/validate.js';
import { configMap, memoryInput } from './tree.js';

/*
 * A namespaced object without a namespace fails Flux's server-side apply with "namespace not specified"
 * (fluxcd/pkg/ssa errors.go, DryRunErr); validation reports it before the push.
 */

const FIX =
  'so Flux fails with "namespace not specified"; set metadata.namespace, or targetNamespace on the source (or namespace: in a kustomization.yaml)';
const missing = (at: string, object: string, source = 'source "app"'): string =>
  `${at} ${object} has no namespace and ${source} sets no targetNamespace, ${FIX}`;

const problems = async (files: Record<string, string>, options: Partial<ValidationInput> = {}) =>
  (await findManifestProblems(memoryInput(files, { sourceName: 'app', ...options }))).map(formatProblem);

const object = (apiVersion: string, kind: string, name: string): string =>
  `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;

describe('namespace check', () => {
  it('reports a namespaced object without a namespace at its metadata, with the fix', async () => {
    const text = `${configMap('first')}---\n# second\n${object('apps/v1', 'Deployment', 'web')}spec: {}\n`;
    expect(await problems({ 'apps/app.yaml': text, 'hello.yaml': configMap('hello', null) })).toEqual([
      missing('apps/app.yaml:13:3', 'Deployment/web'),
      missing('hello.yaml:4:3', 'ConfigMap/hello'),
    ]);
    expect(await problems({ 'hello.yaml': configMap('hello', null) }, { sourceName: undefined })).toEqual([
      missing('hello.yaml:4:3', 'ConfigMap/hello', 'the source'),
    ]);
  });

  it('is not checked when Flux does not apply the artifact (gitOpsEngine: Kubectl)', async () => {
    const bare = { 'cm.yaml': configMap('cm', null) };
    expect(await problems(bare, { namespaceRequired: false })).toEqual([]);
    expect(await problems(bare)).toEqual([missing('cm.yaml:4:3', 'ConfigMap/cm')]);
  });

  it('accepts metadata.namespace, targetNamespace, and a kustomization namespace:', async () => {
    const bare = { 'cm.yaml': configMap('cm', null) };
    expect(await problems({ 'cm.yaml': configMap('cm', 'apps') })).toEqual([]);
    expect(await problems(bare, { targetNamespace: 'apps' })).toEqual([]);
    expect(
      await problems({ ...bare, 'kustomization.yaml': 'namespace: apps\nresources: [cm.yaml]\n' }),
    ).toEqual([]);
    expect(await problems({ ...bare, 'kustomization.yaml': 'resources: [cm.yaml]\n' })).toEqual([
      missing('cm.yaml:4:3', 'ConfigMap/cm'),
    ]);
  });

  it('follows namespace: through nested kustomizations, and flags a file reached once without one', async () => {
    const files = {
      'base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'base/cm.yaml': configMap('cm', null),
      'overlay/kustomization.yaml': 'namespace: dev\nresources: [../base]\n',
      'unit/kustomization.yaml': 'namespace: unit\nresources: [cm.yaml]\n',
      'unit/cm.yaml': configMap('unit', null),
    };
    // A generated kustomization at the root builds each unit: base (no namespace), overlay (sets it), unit.
    expect(await problems(files)).toEqual([missing('base/cm.yaml:4:3', 'ConfigMap/cm')]);
    expect(await problems(files, { kustomizationPath: './overlay' })).toEqual([]);
    expect(await problems(files, { kustomizationPath: './base', targetNamespace: 'x' })).toEqual([]);
  });

  it('does not flag cluster-scoped kinds', async () => {
    const kinds = [
      ['v1', 'Namespace'],
      ['v1', 'PersistentVolume'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
      ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
      ['storage.k8s.io/v1', 'StorageClass'],
      ['scheduling.k8s.io/v1', 'PriorityClass'],
      ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding'],
      ['apiregistration.k8s.io/v1', 'APIService'],
      ['networking.k8s.io/v1', 'IngressClass'],
      ['node.k8s.io/v1', 'RuntimeClass'],
      ['flowcontrol.apiserver.k8s.io/v1', 'FlowSchema'],
      ['certificates.k8s.io/v1', 'CertificateSigningRequest'],
    ];
    const text = kinds
      .map(([apiVersion, kind], i) => object(apiVersion ?? '', kind ?? '', `c${i}`))
      .join('---\n');
    expect(await problems({ 'cluster.yaml': text })).toEqual([]);
    // The same kind in another group is not the built-in one: unknown, so not checked.
    expect(await problems({ 'other.yaml': object('example.com/v1', 'ConfigMap', 'x') })).toEqual([]);
    expect(await problems({ 'role.yaml': object('rbac.authorization.k8s.io/v1', 'Role', 'r') })).toEqual([
      missing('role.yaml:4:3', 'Role/r'),
    ]);
  });

  it("takes a custom resource's scope from a CustomResourceDefinition in the source", async () => {
    const crd = (kind: string, scope: string): string =>
      `${object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${kind.toLowerCase()}s.example.com`)}spec:\n  group: example.com\n  names: {kind: ${kind}, plural: ${kind.toLowerCase()}s}\n  scope: ${scope}\n`;
    const files = {
      // In tar order the custom resources come first: the scopes are collected before anything is judged.
      'a-resources.yaml': `${object('example.com/v1', 'Widget', 'w')}---\n${object('example.com/v1beta1', 'Gadget', 'g')}`,
      'crds/widgets.yaml': crd('Widget', 'Namespaced'),
      'crds/gadgets.yaml': crd('Gadget', 'Cluster'),
    };
    expect(await problems(files)).toEqual([missing('a-resources.yaml:4:3', 'Widget/w')]);
  });

  it("checks Flux's own kinds, and not other kinds it cannot know", async () => {
    expect(
      await problems({
        'flux.yaml': `${object('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'podinfo')}---\n${object('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'repo')}`,
        'unknown.yaml': `${object('cert-manager.io/v1', 'Certificate', 'tls')}---\n${object('monitoring.coreos.com/v1', 'ServiceMonitor', 'm')}`,
      }),
    ).toEqual([
      missing('flux.yaml:4:3', 'HelmRelease/podinfo'),
      missing('flux.yaml:9:3', 'OCIRepository/repo'),
    ]);
  });

  it('checks the items of a List, and JSON objects, at their own position', async () => {
    const list = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: Secret',
      '    metadata: {name: s, namespace: apps}',
      '  - apiVersion: v1',
      '    kind: ServiceAccount',
      '    metadata:',
      '      name: bot',
      '',
    ].join('\n');
    expect(
      await problems({
        'kustomization.yaml': 'resources: [list.yaml, cm.json]\n',
        'list.yaml': list,
        'cm.json': '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "j"}\n}\n',
      }),
    ).toEqual([missing('list.yaml:10:7', 'ServiceAccount/bot'), missing('cm.json:4:15', 'ConfigMap/j')]);
  });

  it('runs on cached results, since the answer depends on the rest of the source', async () => {
    const cache = createValidationCache();
    const files = { 'cm.yaml': configMap('cm', null), 'ok.yaml': configMap('ok') };
    const run = (options: Partial<ValidationInput>, checkers?: Parameters<typeof findManifestProblems>[2]) =>
      findManifestProblems(memoryInput(files, { sourceName: 'app', ...options }), cache, checkers);
    expect((await run({})).map(formatProblem)).toEqual([missing('cm.yaml:4:3', 'ConfigMap/cm')]);
    const checkers = { quick: vi.fn(quickYamlCheck), exact: vi.fn(checkYaml) };
    expect(await run({ targetNamespace: 'apps' }, checkers)).toEqual([]);
    expect((await run({}, checkers)).map(formatProblem)).toEqual([missing('cm.yaml:4:3', 'ConfigMap/cm')]);
    expect(checkers.quick).not.toHaveBeenCalled();
    expect(checkers.exact).not.toHaveBeenCalled();
  });
});

import type { ResolvedConfig } from '../config/schema.js';
import { KsailError } from '../errors.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { FLUX_KINDS, type FluxKind } from './kinds.js';
import type { KubeAdapter } from './kube-adapter.js';

/** Data model rule: every Flux action requires `gitOpsEngine: Flux`. */
export const assertFluxEnabled = (config: Pick<ResolvedConfig, 'gitOpsEngine' | 'file'>): void => {
  if (fluxEnabled(config)) return;
  throw new KsailError(
    'flux-disabled',
    `gitOpsEngine is ${config.gitOpsEngine}${config.file ? ` in ${config.file}` : ''}; Flux actions need gitOpsEngine: Flux (push works without it)`,
  );
};

const KINDS: readonly FluxKind[] = ['OCIRepository', 'Kustomization'];

/**
 * Flux must be installed: both CRDs exist and serve v1, and the Flux namespace exists. The reads use the
 * adapter's short probe timeout, so they also tell an unreachable cluster quickly.
 */
export const ensureFluxInstalled = async (adapter: KubeAdapter, namespace: string): Promise<void> => {
  const crds = await Promise.all(KINDS.map((kind) => adapter.readCrd(FLUX_KINDS[kind].crd)));
  const installHint = `install Flux with \`ksail cluster create\` (Flux enabled) or \`flux install${namespace === 'flux-system' ? '' : ` --namespace ${namespace}`}\``;
  KINDS.forEach((kind, index) => {
    const crd = crds[index];
    const name = FLUX_KINDS[kind].crd;
    if (crd === undefined) {
      throw new KsailError(
        'flux-missing',
        `Flux is not installed on context "${adapter.contextName}" (${adapter.server}): CustomResourceDefinition ${name} is missing; ${installHint}`,
        { details: { context: adapter.contextName, crd: name } },
      );
    }
    if (!crd.servedVersions.includes('v1')) {
      throw new KsailError(
        'flux-missing',
        `Flux on context "${adapter.contextName}" is too old: ${name} serves ${crd.servedVersions.join(', ') || 'no version'}, not v1; upgrade Flux with \`flux install\` (Flux 2.6 or later)`,
        { details: { context: adapter.contextName, crd: name, servedVersions: crd.servedVersions } },
      );
    }
  });
  if (!(await adapter.namespaceExists(namespace))) {
    throw new KsailError(
      'flux-missing',
      `namespace ${namespace} does not exist on context "${adapter.contextName}"; install Flux into it with \`flux install --namespace ${namespace}\`, or set flux.namespace to the namespace Flux runs in`,
      { details: { context: adapter.contextName, namespace } },
    );
  }
};

/** Both checks, for commands that act on Flux. */
export const fluxPreflight = async (
  adapter: KubeAdapter,
  config: Pick<ResolvedConfig, 'gitOpsEngine' | 'file' | 'flux'>,
): Promise<void> => {
  assertFluxEnabled(config);
  await ensureFluxInstalled(adapter, config.flux.namespace);
};

import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KsailError } from '../errors.js';

export interface KubeconfigOptions {
  /** `cluster.kubeconfig` from the config; wins over KUBECONFIG. */
  kubeconfigPath?: string | undefined;
  /** `cluster.context` from the config; else the kubeconfig's current-context. */
  context?: string | undefined;
  env: NodeJS.ProcessEnv;
}

export interface LoadedKubeconfig {
  kubeConfig: KubeConfig;
  contextName: string;
  server: string;
  /** The files it came from, for messages. */
  files: string[];
}

/** Kubeconfig files in kubectl's order: the explicit path, else KUBECONFIG (a list), else ~/.kube/config. */
export const kubeconfigFiles = (options: KubeconfigOptions): string[] => {
  if (options.kubeconfigPath) return [options.kubeconfigPath];
  const fromEnv = (options.env.KUBECONFIG ?? '').split(delimiter).filter((file) => file.length > 0);
  if (fromEnv.length > 0) return fromEnv;
  return [join(options.env.HOME || homedir(), '.kube', 'config')];
};

const noKubeconfig = (files: string[]): KsailError =>
  new KsailError(
    'cluster-not-configured',
    `no kubeconfig found (looked at ${files.join(', ')}); create the cluster (ksail cluster create), set KUBECONFIG, or set cluster.kubeconfig in ksail-fluxd.yaml`,
  );

/** kubectl's merge: the first file that defines a name wins (client-node's mergeConfig throws instead). */
const mergeFirstWins = (target: KubeConfig, extra: KubeConfig): void => {
  const has = (list: readonly { name: string }[], name: string): boolean =>
    list.some((item) => item.name === name);
  for (const cluster of extra.getClusters())
    if (!has(target.getClusters(), cluster.name)) target.addCluster(cluster);
  for (const user of extra.getUsers()) if (!has(target.getUsers(), user.name)) target.addUser(user);
  for (const context of extra.getContexts())
    if (!has(target.getContexts(), context.name)) target.addContext(context);
  if (!target.getCurrentContext()) target.setCurrentContext(extra.getCurrentContext());
};

/**
 * Loads the kubeconfig and selects the context. Like kubectl, the first file's current-context wins and missing
 * files in a KUBECONFIG list are skipped.
 */
export const loadKubeconfig = (options: KubeconfigOptions): LoadedKubeconfig => {
  const files = kubeconfigFiles(options).filter((file) => existsSync(file));
  if (files.length === 0) throw noKubeconfig(kubeconfigFiles(options));
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(files[0] as string);
    for (const file of files.slice(1)) {
      const extra = new KubeConfig();
      extra.loadFromFile(file);
      mergeFirstWins(kubeConfig, extra);
    }
  } catch (error) {
    throw new KsailError(
      'cluster-unreachable',
      `cannot read kubeconfig ${files.join(', ')}: ${error instanceof Error ? error.message : String(error)}; fix the file or point cluster.kubeconfig at a valid one`,
      { cause: error },
    );
  }
  const contextName = options.context ?? kubeConfig.getCurrentContext();
  const known = kubeConfig.getContexts().map((context) => context.name);
  if (!contextName || !known.includes(contextName)) {
    throw new KsailError(
      'cluster-unreachable',
      `${contextName ? `context "${contextName}" is not` : 'no current context is set'} in kubeconfig ${files.join(', ')} (contexts: ${known.join(', ') || 'none'}); set cluster.context in ksail-fluxd.yaml or run \`kubectl config use-context <name>\``,
      { details: { context: contextName, contexts: known } },
    );
  }
  kubeConfig.setCurrentContext(contextName);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster?.server) {
    throw new KsailError(
      'cluster-unreachable',
      `context "${contextName}" in kubeconfig ${files.join(', ')} names no cluster server; fix the kubeconfig or recreate the cluster`,
    );
  }
  return { kubeConfig, contextName, server: cluster.server, files };
};

import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderMiddleware,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { FIELD_MANAGER, FLUX_KINDS, type FluxKind } from './kinds.js';
import type { KubeAdapter, WatchHandle, WatchHandlers } from './kube-adapter.js';
import { httpStatusOf, toClusterError, type ClusterIdentity } from './kube-errors.js';
import { KubeObject, KubeObjectList, parseKubeObject } from './kube-object.js';
import { loadKubeconfig, type KubeconfigOptions } from './kubeconfig.js';

export interface CreateKubeAdapterOptions extends KubeconfigOptions {
  logger: Logger;
  /** Per-request timeout; a watch must connect within it too. */
  requestTimeoutMs?: number;
  /** Timeout of the preflight reads (CRDs, namespace), which double as the reachability check. */
  probeTimeoutMs?: number;
  /** Every request and watch-connect timeout runs on it; default the system clock. */
  clock?: Clock;
}

const CrdVersions = z.looseObject({
  spec: z.looseObject({ versions: z.array(z.looseObject({ name: z.string(), served: z.boolean() })) }),
});

/**
 * Per-request options: a timeout signal (client-node has no request timeout of its own) and optionally a
 * content type. client-node 1.4's object API only accepts observable middleware, so ours wraps the library's
 * header middleware to get one.
 */
const requestOptions = (
  clock: Clock,
  timeoutMs: number,
  contentType?: string,
): ConfigurationOptions<ObservableMiddleware> => {
  const header = contentType
    ? setHeaderMiddleware('Content-Type', contentType)
    : setHeaderMiddleware('Accept', 'application/json');
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      // No post hook runs on a failed request, so the timer is one that keeps nothing alive (Clock.timeout).
      context.setSignal(clock.timeout(timeoutMs).signal);
      return header.pre(context);
    },
    post: (context) => header.post(context),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
};

/** Builds the adapter on @kubernetes/client-node; loads the kubeconfig once. */
export const createKubeAdapter = (options: CreateKubeAdapterOptions): KubeAdapter => {
  const { kubeConfig, contextName, server } = loadKubeconfig(options);
  return kubeAdapterFor(kubeConfig, { contextName, server }, options);
};

const kubeAdapterFor = (
  kubeConfig: KubeConfig,
  cluster: ClusterIdentity,
  options: CreateKubeAdapterOptions,
): KubeAdapter => {
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 3_000;
  const clock = options.clock ?? systemClock;
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watches = new Set<WatchHandle>();
  const { logger } = options;

  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toClusterError(cluster, action, error);
    }
  };
  const target = (kind: FluxKind, namespace: string) => {
    const info = FLUX_KINDS[kind];
    return { group: info.group, version: info.version, plural: info.plural, namespace };
  };

  const adapter: KubeAdapter = {
    contextName: cluster.contextName,
    server: cluster.server,

    get: async (kind, namespace, name) => {
      try {
        const body: unknown = await call(`reading ${kind} ${namespace}/${name}`, () =>
          custom.getNamespacedCustomObject(
            { ...target(kind, namespace), name },
            requestOptions(clock, requestTimeoutMs),
          ),
        );
        return parseKubeObject(body, kind);
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw error;
      }
    },

    list: async (kind, namespace) => {
      const body: unknown = await call(`listing ${kind} in ${namespace}`, () =>
        custom.listNamespacedCustomObject(target(kind, namespace), requestOptions(clock, requestTimeoutMs)),
      );
      const parsed = KubeObjectList.safeParse(body);
      if (!parsed.success)
        throw toClusterError(cluster, `listing ${kind}`, new Error('unexpected list response'));
      return parsed.data.items;
    },

    apply: async (object, applyOptions = {}) => {
      const { namespace, name } = object.metadata;
      const body: unknown = await call(`applying ${object.kind} ${namespace}/${name}`, () =>
        custom.patchNamespacedCustomObject(
          {
            ...target(object.kind, namespace),
            name,
            body: object,
            fieldManager: FIELD_MANAGER,
            force: applyOptions.force ?? false,
          },
          requestOptions(clock, requestTimeoutMs, PatchStrategy.ServerSideApply),
        ),
      );
      return parseKubeObject(body, object.kind);
    },

    mergePatch: async (kind, namespace, name, patch) => {
      const body: unknown = await call(`patching ${kind} ${namespace}/${name}`, () =>
        custom.patchNamespacedCustomObject(
          { ...target(kind, namespace), name, body: patch, fieldManager: FIELD_MANAGER },
          requestOptions(clock, requestTimeoutMs, PatchStrategy.MergePatch),
        ),
      );
      return parseKubeObject(body, kind);
    },

    watch: (kind, namespace, name, handlers) =>
      startWatch(
        kubeConfig,
        cluster,
        logger,
        watches,
        { clock, timeoutMs: requestTimeoutMs },
        {
          kind,
          namespace,
          name,
          handlers,
        },
      ),

    readCrd: async (name) => {
      try {
        const crd = await call(`reading CustomResourceDefinition ${name}`, () =>
          extensions.readCustomResourceDefinition({ name }, requestOptions(clock, probeTimeoutMs)),
        );
        const parsed = CrdVersions.safeParse(crd);
        if (!parsed.success) return { servedVersions: [] };
        return { servedVersions: parsed.data.spec.versions.filter((v) => v.served).map((v) => v.name) };
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw error;
      }
    },

    namespaceExists: async (name) => {
      try {
        await call(`reading namespace ${name}`, () =>
          core.readNamespace({ name }, requestOptions(clock, probeTimeoutMs)),
        );
        return true;
      } catch (error) {
        if (httpStatusOf(error) === 404) return false;
        throw error;
      }
    },

    close: () => {
      for (const handle of [...watches]) handle.stop();
    },
  };
  return adapter;
};

interface WatchTarget {
  kind: FluxKind;
  namespace: string;
  name: string;
  handlers: WatchHandlers;
}

/**
 * One watch connection. client-node's Watch has no connect timeout, so a connect that takes longer than the
 * request timeout counts as failed (and the late connection is aborted when it arrives).
 */
const startWatch = async (
  kubeConfig: KubeConfig,
  cluster: ClusterIdentity,
  logger: Logger,
  watches: Set<WatchHandle>,
  { clock, timeoutMs }: { clock: Clock; timeoutMs: number },
  { kind, namespace, name, handlers }: WatchTarget,
): Promise<WatchHandle> => {
  const info = FLUX_KINDS[kind];
  const path = `/apis/${info.group}/${info.version}/namespaces/${namespace}/${info.plural}`;
  const action = `watching ${kind} ${namespace}/${name}`;
  let stopped = false;
  let connected = false;
  let connectError: Error | undefined;
  let controller: AbortController | undefined;
  const handle: WatchHandle = {
    stop: () => {
      if (stopped) return;
      stopped = true;
      watches.delete(handle);
      controller?.abort();
    },
  };
  // client-node reports a failed connect through `done` too; before the connect resolves it becomes a rejection.
  const close = (error?: unknown): void => {
    if (stopped) return;
    handle.stop();
    const mapped = error === undefined || error === null ? undefined : toClusterError(cluster, action, error);
    if (!connected) connectError = mapped ?? new Error('watch closed while connecting');
    else handlers.onClose(mapped);
  };
  watches.add(handle);
  const connecting = new Watch(kubeConfig).watch(
    path,
    { fieldSelector: `metadata.name=${name}` },
    (type: string, object: unknown) => {
      if (stopped) return;
      if (type === 'ERROR') {
        close(new Error(`watch error event: ${JSON.stringify(object).slice(0, 300)}`));
        return;
      }
      if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
      const parsed = KubeObject.safeParse(object);
      if (parsed.success) handlers.onObject(parsed.data, type === 'DELETED');
      else logger.debug('ignoring malformed watch event', { kind, name, type });
    },
    (error: unknown) => close(error),
  );
  let cancelTimer = (): void => undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    cancelTimer = clock.after(timeoutMs, () => resolve('timeout'));
  });
  try {
    const outcome = await Promise.race([connecting, timeout]);
    if (outcome === 'timeout') {
      void connecting.then((late) => late.abort()).catch(() => undefined);
      throw Object.assign(new Error('watch did not connect in time'), { name: 'TimeoutError' });
    }
    controller = outcome;
    if (connectError !== undefined) throw connectError;
    if (stopped) controller.abort();
    connected = true;
    return handle;
  } catch (error) {
    handle.stop();
    throw toClusterError(cluster, action, error);
  } finally {
    cancelTimer();
  }
};

/** The adapter for the cluster a config names (`cluster.kubeconfig`, `cluster.context`). */
export const kubeAdapterFromConfig = (
  config: Pick<ResolvedConfig, 'cluster'>,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  clock: Clock = systemClock,
): KubeAdapter =>
  createKubeAdapter({
    kubeconfigPath: config.cluster.kubeconfig,
    context: config.cluster.context,
    env,
    logger,
    clock,
  });

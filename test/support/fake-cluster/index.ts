import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RecordedRequest } from './http-handler.js';
import { createHandler } from './http-handler.js';
import { installFlux, seedNamespaces } from './install.js';
import { KustomizeController } from './kustomize-controller.js';
import { ObjectApi } from './object-api.js';
import { patchObject } from './patch-request.js';
import { SourceController } from './source-controller.js';
import { ObjectStore } from './store.js';
import type { KObject } from './types.js';
import { groupOf } from './types.js';

export type { RecordedRequest } from './http-handler.js';

/**
 * A fake Kubernetes API server with emulated Flux source- and kustomize-controllers, for driving
 * @kubernetes/client-node in tests. See README.md beside this file for what is and is not emulated.
 */
export interface FakeCluster {
  /** http://127.0.0.1:<port> */
  url: string;
  /** A kubeconfig (temp dir) whose context "fake" points at `url` with a bearer token. */
  kubeconfigPath: string;
  contextName: string;
  faults: {
    /** Closes the listening socket and every connection (ECONNREFUSED until turned off again). */
    setUnreachable(on: boolean): void;
    /** The next n POST/PUT/PATCH requests get 409 Conflict. */
    conflictNextWrites(n: number): void;
    /** The source-controller's pulls fail with Ready=False reason OCIArtifactPullFailed. */
    failRegistryFetch(on: boolean, message?: string): void;
  };
  /** Installs Flux's CRDs (default) and namespace (default flux-system) with its controller Deployments. */
  installFlux(options?: { crds?: boolean; namespace?: string }): void;
  get(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Record<string, unknown> | undefined;
  list(apiVersion: string, kind: string, namespace?: string): Record<string, unknown>[];
  /** Server-side applies an object directly (force, manager `fake-cluster` unless given); for test setup. */
  apply(object: Record<string, unknown>, fieldManager?: string): Record<string, unknown>;
  /** Every request received so far (method, path, query, content type, user agent). */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

export interface FakeClusterOptions {
  /** Install Flux (CRDs + flux-system) at start; default true. */
  flux?: boolean;
  /** Maps the host:port of `spec.url` to where the registry really listens; default localhost → 127.0.0.1. */
  registryEndpointMap?: (hostPort: string) => string;
  /** Run the emulated Flux controllers; default true. */
  controllers?: boolean;
  /** Where Flux's CRD YAML files are; default ../shared/reference/flux-crds, else built-in minimal CRDs. */
  fluxCrdDir?: string;
  /** Watch events kept for resuming watches; older resourceVersions get 410 Expired. Default 1000. */
  watchHistoryLimit?: number;
}

const defaultEndpointMap = (hostPort: string): string => hostPort.replace(/^localhost(?=:|$)/, '127.0.0.1');

export const startFakeCluster = async (options: FakeClusterOptions = {}): Promise<FakeCluster> => {
  const store = new ObjectStore(options.watchHistoryLimit ?? 1000);
  const api = new ObjectApi(store);
  seedNamespaces(api);
  if (options.flux !== false) installFlux(api, {}, options.fluxCrdDir);

  let conflicts = 0;
  let registryFailure: string | undefined;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const watches = new Set<ServerResponse>();
  const onError = (error: unknown): void => {
    process.emitWarning(`fake-cluster controller error: ${(error as Error).stack ?? String(error)}`);
  };

  let source: SourceController | undefined;
  let kustomize: KustomizeController | undefined;
  if (options.controllers !== false) {
    source = new SourceController(
      api,
      options.registryEndpointMap ?? defaultEndpointMap,
      { registryFailure: () => registryFailure },
      onError,
    );
    kustomize = new KustomizeController(api, source.artifacts, onError);
  }
  store.subscribe((event) => {
    source?.onEvent(event);
    kustomize?.onEvent(event);
    const namespace = event.object.metadata.namespace;
    if (event.type === 'DELETED' && namespace) setImmediate(() => api.drainNamespace(namespace));
  });

  let port = 0;
  const handler = createHandler({
    api,
    takeConflict: () => {
      if (conflicts <= 0) return false;
      conflicts -= 1;
      return true;
    },
    trackWatch: (response) => {
      watches.add(response);
      return () => watches.delete(response);
    },
    record: (request) => requests.push(request),
    serverAddress: () => `127.0.0.1:${port}`,
  });
  const listen = (requestedPort: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer(handler);
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      server.once('error', reject);
      server.listen(requestedPort, '127.0.0.1', () => resolve(server));
    });
  let server: Server | undefined = await listen(0);
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  const dropConnections = (): void => {
    for (const response of watches) response.destroy();
    watches.clear();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const dir = await mkdtemp(join(tmpdir(), 'ksail-fake-cluster-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const contextName = 'fake';
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: contextName, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: contextName, user: { token: 'fake-cluster-token' } }],
      contexts: [
        { name: contextName, context: { cluster: contextName, user: contextName, namespace: 'default' } },
      ],
      'current-context': contextName,
    }),
    { mode: 0o600 },
  );

  let closed = false;
  let reachable = true;
  return {
    url,
    kubeconfigPath,
    contextName,
    requests,
    faults: {
      setUnreachable(on) {
        if (closed || reachable === !on) return;
        reachable = !on;
        if (on) {
          server?.close();
          server = undefined;
          dropConnections();
          return;
        }
        // The bind to 127.0.0.1 happens before any request made after this call can connect.
        listen(port).then((reopened) => {
          if (closed || !reachable) reopened.close();
          else server = reopened;
        }, onError);
      },
      conflictNextWrites(n) {
        conflicts = n;
      },
      failRegistryFetch(on, message) {
        registryFailure = on ? (message ?? 'GET registry: connection refused') : undefined;
      },
    },
    installFlux: (installOptions) => installFlux(api, installOptions, options.fluxCrdDir),
    get: (apiVersion, kind, namespace, name) => store.get(groupOf(apiVersion), kind, namespace, name),
    list: (apiVersion, kind, namespace) => store.list(groupOf(apiVersion), kind, namespace),
    apply(object, fieldManager = 'fake-cluster') {
      const body = object as KObject;
      const type = api.typeOf(body.apiVersion, body.kind);
      if (!type) throw new Error(`${body.apiVersion} ${body.kind} is not served by the fake cluster`);
      const raw = JSON.stringify(body);
      const namespace = type.namespaced ? (body.metadata.namespace ?? 'default') : undefined;
      return patchObject(
        api,
        type,
        namespace,
        body.metadata.name ?? '',
        'application/apply-patch+yaml',
        raw,
        {
          fieldManager,
          force: true,
        },
      ).object;
    },
    async close() {
      if (closed) return;
      closed = true;
      source?.stop();
      kustomize?.stop();
      const current = server;
      server = undefined;
      dropConnections();
      await Promise.allSettled([
        new Promise<void>((resolve) => (current ? current.close(() => resolve()) : resolve())),
        rm(dir, { recursive: true, force: true }),
      ]);
    },
  };
};

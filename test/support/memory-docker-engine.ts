import { randomBytes } from 'node:crypto';
import type {
  ContainerInfo,
  ContainerSpec,
  DockerEngine,
  RunningContainer,
} from '../../src/registry/runtime/docker-engine.js';

/**
 * An in-memory Docker engine behind our port, for unit tests of the Docker runtime. It keeps to what the contract
 * suite (test/integration/docker-engine-contract.test.ts) checks against a real engine: names are unique, a start
 * of a running container is `already-running`, a host port is bound by one running container at a time (Docker's
 * "port is already allocated"), removing a container keeps its volumes, and "not found" is an answer.
 */
export interface MemoryDockerEngine extends DockerEngine {
  readonly containers: Map<string, ContainerInfo>;
  readonly volumes: Map<string, Record<string, string>>;
  readonly networks: Set<string>;
  readonly images: Map<string, string>;
  /** Every exec, in order. */
  readonly execs: Array<{ id: string; cmd: string[] }>;
  /** Calls by operation name, e.g. `removeContainer`. */
  readonly calls: string[];
  /** A container that another party runs (`docker run` by the user), publishing `hostPort`. */
  addForeign(name: string, hostPort: number): ContainerInfo;
}

export const createMemoryDockerEngine = (options: { images?: string[] } = {}): MemoryDockerEngine => {
  const containers = new Map<string, ContainerInfo>();
  const volumes = new Map<string, Record<string, string>>();
  const networks = new Set<string>(['bridge']);
  const images = new Map((options.images ?? ['registry:3']).map((ref) => [ref, `sha256:${ref}`]));
  const execs: Array<{ id: string; cmd: string[] }> = [];
  const calls: string[] = [];

  const find = (nameOrId: string): ContainerInfo | undefined =>
    containers.get(nameOrId) ?? [...containers.values()].find((c) => c.name === nameOrId);
  const must = (id: string): ContainerInfo => {
    const info = find(id);
    if (!info) throw Object.assign(new Error(`No such container: ${id}`), { statusCode: 404 });
    return info;
  };
  const newId = (): string => randomBytes(32).toString('hex');

  const create = (spec: ContainerSpec): string => {
    if (find(spec.name)) {
      throw Object.assign(new Error(`Conflict. The container name "/${spec.name}" is already in use`), {
        statusCode: 409,
      });
    }
    const imageId = images.get(spec.image);
    if (!imageId) throw Object.assign(new Error(`No such image: ${spec.image}`), { statusCode: 404 });
    if (spec.mount.type === 'volume' && !volumes.has(spec.mount.source)) volumes.set(spec.mount.source, {});
    const id = newId();
    containers.set(id, {
      id,
      name: spec.name,
      image: spec.image,
      imageId,
      status: 'created',
      running: false,
      restarting: false,
      exitCode: 0,
      error: '',
      oomKilled: false,
      startedAt: '0001-01-01T00:00:00Z',
      cmd: ['/etc/docker/registry/config.yml'],
      labels: { ...spec.labels },
      networks: ['bridge'],
      bindings: [{ ...spec.port }],
      mounts: [
        {
          type: spec.mount.type,
          ...(spec.mount.type === 'volume' ? { name: spec.mount.source } : {}),
          source: spec.mount.source,
          destination: spec.mount.target,
        },
      ],
    });
    return id;
  };

  const start = (id: string): 'started' | 'already-running' => {
    const info = must(id);
    if (info.running) return 'already-running';
    const ports = info.bindings.map((b) => b.hostPort);
    const holder = [...containers.values()].find(
      (c) => c.running && c.id !== info.id && c.bindings.some((b) => ports.includes(b.hostPort)),
    );
    if (holder) {
      throw new Error(`Bind for 127.0.0.1:${ports.join(',')} failed: port is already allocated`);
    }
    Object.assign(info, { running: true, status: 'running', startedAt: new Date().toISOString() });
    return 'started';
  };

  const engine: MemoryDockerEngine = {
    containers,
    volumes,
    networks,
    images,
    execs,
    calls,
    addForeign: (name, hostPort) => {
      const id = create({
        name,
        image: [...images.keys()][0] ?? 'registry:3',
        labels: {},
        env: [],
        port: { containerPort: '5000/tcp', hostIp: '127.0.0.1', hostPort: String(hostPort) },
        restart: 'unless-stopped',
        mount: { type: 'volume', source: `${name}-volume`, target: '/var/lib/registry' },
      });
      start(id);
      return must(id);
    },
    ping: () => Promise.resolve(),
    inspectContainer: (nameOrId) => Promise.resolve(find(nameOrId) && structuredClone(find(nameOrId))),
    createContainer: (spec) => {
      calls.push('createContainer');
      return Promise.resolve().then(() => create(spec));
    },
    startContainer: (id) => Promise.resolve().then(() => start(id)),
    stopContainer: (id) =>
      Promise.resolve().then(() => {
        Object.assign(must(id), { running: false, status: 'exited' });
      }),
    restartContainer: (id) =>
      Promise.resolve().then(() => {
        calls.push('restartContainer');
        Object.assign(must(id), { running: true, status: 'running' });
      }),
    removeContainer: (id, { force }) =>
      Promise.resolve().then(() => {
        calls.push('removeContainer');
        const info = must(id);
        if (info.running && !force) {
          throw Object.assign(new Error(`cannot remove container ${info.name}: container is running`), {
            statusCode: 409,
          });
        }
        containers.delete(info.id);
      }),
    listRunning: () =>
      Promise.resolve(
        [...containers.values()]
          .filter((c) => c.running)
          .map((c): RunningContainer => ({
            id: c.id,
            name: c.name,
            publicPorts: c.bindings.map((b) => Number(b.hostPort)),
          })),
      ),
    imageId: (reference) => Promise.resolve(images.get(reference)),
    pullImage: (reference) =>
      Promise.reject(new Error(`pull access denied for ${reference}: no route to the registry`)),
    volumeExists: (name) => Promise.resolve(volumes.has(name)),
    volumeLabels: (name) => Promise.resolve(volumes.get(name) && { ...volumes.get(name) }),
    createVolume: (name, labels) => {
      volumes.set(name, { ...labels });
      return Promise.resolve();
    },
    removeVolume: (name) => {
      calls.push('removeVolume');
      volumes.delete(name);
      return Promise.resolve();
    },
    volumeBytes: (name) => Promise.resolve(volumes.has(name) ? 0 : undefined),
    networkExists: (name) => Promise.resolve(networks.has(name)),
    connectNetwork: (network, containerId) =>
      Promise.resolve().then(() => {
        const info = must(containerId);
        if (!networks.has(network))
          throw Object.assign(new Error(`network ${network} not found`), { statusCode: 404 });
        if (!info.networks.includes(network)) info.networks.push(network);
      }),
    exec: (containerId, cmd) =>
      Promise.resolve().then(() => {
        if (!must(containerId).running) throw new Error(`container ${containerId} is not running`);
        execs.push({ id: containerId, cmd });
        return { exitCode: 0, output: 'blob eligible for deletion: sha256:0\n' };
      }),
    logTail: () => Promise.resolve(''),
  };
  return engine;
};

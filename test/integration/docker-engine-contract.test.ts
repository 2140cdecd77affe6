import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { isPortConflict } from '../../src/registry/runtime/docker-container.js';
import type { ContainerSpec, DockerEngine } from '../../src/registry/runtime/docker-engine.js';
import { createDockerodeEngine } from '../../src/registry/runtime/dockerode-engine.js';
import { freePort } from '../support/free-port.js';
import { createMemoryDockerEngine } from '../support/memory-docker-engine.js';
import { dockerAvailable, removeLabelled, TEST_LABEL } from '../support/test-registry.js';
import { uniqueName } from './registry-runtime-support.js';

/**
 * One suite, two engines: dockerode against the real Docker engine, and the in-memory engine that the Docker
 * runtime's unit tests use. What the runtime relies on must hold for both, so that the fake cannot drift.
 */
interface EngineUnderTest {
  name: string;
  engine: () => DockerEngine;
  /** Arranges a network the way a cluster would (kind and k3d create theirs). */
  addNetwork: (engine: DockerEngine, name: string) => Promise<void>;
  available: boolean;
}

/** This run's own label: the suite removes what it made, and nothing another test run owns. */
const RUN_LABEL = 'io.ksail-fluxd.test-run';
const runId = `${process.pid}-${Date.now()}`;
const labels = { [TEST_LABEL]: 'true', [RUN_LABEL]: runId };

const engines: EngineUnderTest[] = [
  {
    name: 'dockerode (real engine)',
    engine: () => createDockerodeEngine(systemClock),
    addNetwork: async (_engine, name) => {
      await execa('docker', [
        'network',
        'create',
        '--label',
        `${TEST_LABEL}=true`,
        '--label',
        `${RUN_LABEL}=${runId}`,
        name,
      ]);
    },
    available: await dockerAvailable(),
  },
  {
    name: 'in-memory',
    engine: () => createMemoryDockerEngine(),
    addNetwork: (engine, name) => {
      (engine as ReturnType<typeof createMemoryDockerEngine>).networks.add(name);
      return Promise.resolve();
    },
    available: true,
  },
];

const spec = (name: string, port: number, volume: string): ContainerSpec => ({
  name,
  image: 'registry:3',
  labels,
  env: ['REGISTRY_STORAGE_DELETE_ENABLED=true'],
  port: { containerPort: '5000/tcp', hostIp: '127.0.0.1', hostPort: String(port) },
  restart: 'unless-stopped',
  mount: { type: 'volume', source: volume, target: '/var/lib/registry' },
});

/** A container on its own labelled volume (a volume Docker makes implicitly carries no label to remove it by). */
const createLabelled = async (engine: DockerEngine, name: string, port: number): Promise<string> => {
  await engine.createVolume(`${name}-data`, labels);
  return engine.createContainer(spec(name, port, `${name}-data`));
};

describe.each(engines)('Docker engine contract: $name', ({ engine: makeEngine, addNetwork, available }) => {
  afterAll(() => removeLabelled(`${RUN_LABEL}=${runId}`));

  it.skipIf(!available)('answers "not found" as undefined or false, never as an error', async () => {
    const engine = makeEngine();
    const missing = uniqueName('ksail-fluxd-test-missing');
    expect(await engine.inspectContainer(missing)).toBeUndefined();
    expect(await engine.imageId(`${missing}:1`)).toBeUndefined();
    expect(await engine.volumeExists(missing)).toBe(false);
    expect(await engine.volumeLabels(missing)).toBeUndefined();
    expect(await engine.networkExists(missing)).toBe(false);
    await expect(engine.removeVolume(missing)).resolves.toBeUndefined();
    expect(await engine.imageId('registry:3')).toMatch(/^sha256:/);
  });

  it.skipIf(!available)(
    'creates, starts, lists, stops and removes a container, keeping its volume',
    async () => {
      const engine = makeEngine();
      const name = uniqueName('ksail-fluxd-test-engine');
      const volume = `${name}-data`;
      const port = await freePort();
      await engine.createVolume(volume, labels);
      expect(await engine.volumeLabels(volume)).toEqual(labels);
      const id = await engine.createContainer(spec(name, port, volume));
      expect(await engine.inspectContainer(name)).toMatchObject({
        id,
        name,
        running: false,
        image: 'registry:3',
      });
      await expect(engine.createContainer(spec(name, port, volume))).rejects.toThrow(/already in use/);

      expect(await engine.startContainer(id)).toBe('started');
      expect(await engine.startContainer(id)).toBe('already-running');
      const info = await engine.inspectContainer(id);
      expect(info).toMatchObject({
        running: true,
        bindings: [{ containerPort: '5000/tcp', hostIp: '127.0.0.1', hostPort: String(port) }],
        mounts: [{ type: 'volume', name: volume, destination: '/var/lib/registry' }],
        labels,
      });
      expect(info?.imageId).toBe(await engine.imageId('registry:3'));
      expect(info?.networks).toContain('bridge');
      expect((await engine.listRunning()).find((c) => c.id === id)).toEqual({
        id,
        name,
        publicPorts: [port],
      });

      const version = await engine.exec(id, ['/bin/registry', '--version']);
      expect(version).toMatchObject({ exitCode: 0, output: expect.any(String) as string });

      await engine.stopContainer(id, 1);
      await engine.stopContainer(id, 1); // stopping a stopped container is not an error
      expect((await engine.inspectContainer(id))?.running).toBe(false);
      await engine.removeContainer(id, { force: false });
      expect(await engine.inspectContainer(id)).toBeUndefined();
      expect(await engine.volumeExists(volume)).toBe(true);
      await engine.removeVolume(volume);
      expect(await engine.volumeExists(volume)).toBe(false);
    },
  );

  it.skipIf(!available)(
    'refuses to start a second container on a taken host port, in words we recognise',
    async () => {
      const engine = makeEngine();
      const port = await freePort();
      const first = uniqueName('ksail-fluxd-test-engine');
      const second = uniqueName('ksail-fluxd-test-engine');
      await engine.startContainer(await createLabelled(engine, first, port));
      const id = await createLabelled(engine, second, port);
      const error = await engine.startContainer(id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(isPortConflict(error)).toBe(true);
      await engine.removeContainer(id, { force: true });
    },
  );

  it.skipIf(!available)('connects a container to a network once, and again without error', async () => {
    const engine = makeEngine();
    const name = uniqueName('ksail-fluxd-test-engine');
    const network = `${name}-net`;
    await addNetwork(engine, network);
    expect(await engine.networkExists(network)).toBe(true);
    const id = await createLabelled(engine, name, await freePort());
    await engine.startContainer(id);
    await engine.connectNetwork(network, id);
    await engine.connectNetwork(network, id);
    expect((await engine.inspectContainer(id))?.networks).toContain(network);
    await engine.removeContainer(id, { force: true });
  });
});

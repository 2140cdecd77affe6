import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createDockerRuntime } from '../../../src/registry/runtime/docker-runtime.js';
import type { RegistrySettings } from '../../../src/registry/runtime/settings.js';
import { freePort } from '../../support/free-port.js';
import { createInstantClock } from '../../support/instant-clock.js';
import { createMemoryDockerEngine, type MemoryDockerEngine } from '../../support/memory-docker-engine.js';

/**
 * The Docker runtime's decisions (create, adopt, refuse, recreate, keep the volume, name a port's holder, collect
 * garbage) against the in-memory engine; the same flows against a real engine are in
 * test/integration/registry-runtime-docker.test.ts, and the two engines agree by the contract suite.
 */
describe('docker runtime (through the Docker port)', () => {
  let docker: MemoryDockerEngine;
  let settings: RegistrySettings;
  let stateRoot: string;
  /** /v2/ answers 200 only while the registry's container runs, as the real registry would. */
  const fetchV2: typeof fetch = () => {
    const running = [...docker.containers.values()].some((c) => c.name === settings.name && c.running);
    return Promise.resolve(new Response(null, { status: running ? 200 : 503 }));
  };
  const runtime = (overrides: Partial<RegistrySettings> = {}) =>
    createDockerRuntime(
      { ...settings, ...overrides },
      {
        docker,
        logger: createSilentLogger(),
        clock: createInstantClock(),
        fetch: fetchV2,
        healthTimeoutMs: 2000,
      },
    );

  beforeEach(async () => {
    docker = createMemoryDockerEngine();
    stateRoot = await mkdtemp(join(tmpdir(), 'ksail-fluxd-docker-unit-'));
    settings = {
      name: 'local-registry',
      image: 'registry:3',
      port: await freePort(),
      runtime: 'docker',
      volumeName: 'local-registry-data',
      dataPath: undefined,
      network: undefined,
      stateDir: join(stateRoot, 'registry', 'local-registry'),
    };
  });
  afterEach(() => rm(stateRoot, { recursive: true, force: true }));

  it('creates a loopback-only container on its own volume, labelled as ours, and reports it Running', async () => {
    const registry = await runtime().up();
    expect(registry.status).toBe('Running');
    const [info] = [...docker.containers.values()];
    expect(info?.bindings).toEqual([
      { containerPort: '5000/tcp', hostIp: '127.0.0.1', hostPort: String(settings.port) },
    ]);
    expect(info?.mounts).toMatchObject([
      { type: 'volume', name: 'local-registry-data', destination: '/var/lib/registry' },
    ]);
    expect(docker.volumes.get('local-registry-data')).toMatchObject({ 'io.ksail-fluxd.managed': 'true' });
    expect((await runtime().inspect()).ready).toBe(true);
  });

  it('adopts a running container that matches, without creating or restarting anything', async () => {
    await runtime().up();
    docker.calls.length = 0;
    await runtime().up();
    expect(docker.calls).toEqual([]);
    expect(docker.containers.size).toBe(1);
  });

  it('refuses a container that differs from the config, and --recreate replaces it keeping the volume', async () => {
    await runtime().up();
    const other = runtime({ port: await freePort() });
    const error = await other.up().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KsailError);
    expect((error as KsailError).code).toBe('registry-mismatch');
    expect((error as Error).message).toMatch(/port \d+ ≠ \d+.*--recreate/);
    expect((await other.inspect()).registry.status).toBe('Error');

    await other.up({ recreate: true });
    expect(docker.containers.size).toBe(1);
    expect(docker.volumes.has('local-registry-data')).toBe(true);
    expect(docker.calls).not.toContain('removeVolume');
  });

  it('names the container that holds the port, and leaves no half-made container behind', async () => {
    docker.addForeign('someone-elses-registry', settings.port);
    const error = await runtime()
      .up()
      .catch((e: unknown) => e);
    expect((error as KsailError).code).toBe('port-taken');
    expect((error as Error).message).toContain('container someone-elses-registry');
    expect((error as Error).message).toContain('docker stop someone-elses-registry');
    expect([...docker.containers.values()].map((c) => c.name)).toEqual(['someone-elses-registry']);
  });

  it('says what to do when the image is missing and cannot be pulled', async () => {
    docker.images.clear();
    const error = await runtime()
      .up()
      .catch((e: unknown) => e);
    expect((error as KsailError).code).toBe('image-missing');
    expect((error as Error).message).toContain('scripts/build-registry-image.sh registry:3');
    expect(docker.containers.size).toBe(0);
  });

  it('joins the cluster network, and names a missing network with the fix', async () => {
    const missing = await runtime({ network: 'kind' })
      .up()
      .catch((e: unknown) => e);
    expect((missing as KsailError).code).toBe('network-not-found');
    expect((missing as Error).message).toContain('create the cluster first');

    docker.networks.add('kind');
    const registry = await runtime({ network: 'kind' }).up();
    expect(registry.inClusterEndpoint).toBe('local-registry:5000');
    expect([...docker.containers.values()][0]?.networks).toContain('kind');
  });

  it('down keeps the volume unless asked, and says so', async () => {
    await runtime().up();
    const kept = await runtime().down();
    expect(kept).toMatchObject({ removed: true, volumeDeleted: false });
    expect(kept.message).toContain('pass --delete-volume');
    expect(docker.volumes.has('local-registry-data')).toBe(true);

    await runtime().up();
    const deleted = await runtime().down({ deleteVolume: true });
    expect(deleted).toMatchObject({ removed: true, volumeDeleted: true });
    expect(docker.volumes.has('local-registry-data')).toBe(false);
    expect((await runtime().down()).message).toContain('no container local-registry to remove');
  });

  it("adopts a registry it did not create (KSail's): never recreates, stops or removes it, nor deletes its volume", async () => {
    const ksail = docker.addForeign('local-registry', settings.port);
    ksail.labels['io.ksail.registry'] = 'true';
    docker.images.set('ghcr.io/distribution/registry:3', 'sha256:other');
    Object.assign(docker.containers.get(ksail.id) ?? {}, { image: 'ghcr.io/distribution/registry:3' });
    docker.calls.length = 0;

    // Its own image and storage are fine: only the loopback port matters.
    expect((await runtime().up()).status).toBe('Running');
    const recreate = await runtime()
      .up({ recreate: true })
      .catch((e: unknown) => e);
    expect((recreate as Error).message).toContain("was not created by ksail-fluxd (KSail's registry)");
    const down = await runtime().down({ deleteVolume: true });
    expect(down).toMatchObject({ removed: false, volumeDeleted: false });
    expect(down.message).toContain('keeps running');
    expect(docker.calls).toEqual([]);
    expect(docker.containers.get(ksail.id)?.running).toBe(true);
  });

  it('refuses to delete a volume it did not create', async () => {
    docker.volumes.set('local-registry-data', { 'io.ksail.registry': 'true' });
    const error = await runtime()
      .down({ deleteVolume: true })
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('docker volume rm local-registry-data');
    expect(docker.volumes.has('local-registry-data')).toBe(true);
  });

  it('collects garbage inside the container with its own config, then restarts it', async () => {
    const stopped = await runtime()
      .garbageCollect()
      .catch((e: unknown) => e);
    expect((stopped as Error).message).toContain('registry up');

    await runtime().up();
    await runtime().garbageCollect();
    expect(docker.execs.map((e) => e.cmd)).toEqual([
      ['/bin/registry', 'garbage-collect', '--delete-untagged', '/etc/docker/registry/config.yml'],
    ]);
    expect(docker.calls).toContain('restartContainer');
  });
});

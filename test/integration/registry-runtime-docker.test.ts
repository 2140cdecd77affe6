import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KsailError } from '../../src/errors.js';
import { ensureRegistry } from '../../src/registry/runtime/ensure.js';
import { selectRuntime } from '../../src/registry/runtime/select.js';
import { freePort } from '../support/free-port.js';
import { rejectionOf } from '../support/rejection.js';
import { dockerAvailable, removeLabelled, TEST_LABEL } from '../support/test-registry.js';
import {
  canConnect,
  externalAddress,
  pullable,
  rawPush,
  testConfig,
  testDeps,
  uniqueName,
} from './registry-runtime-support.js';

const docker = new Dockerode();

describe.skipIf(!(await dockerAvailable()))('docker registry runtime', () => {
  let name: string;
  let port: number;
  const images: string[] = [];
  const config = (extra: Record<string, unknown> = {}, registry: Record<string, unknown> = {}) =>
    testConfig({ registryPort: port, registry: { name, runtime: 'docker', ...registry }, ...extra });

  beforeEach(async () => {
    name = uniqueName('ksail-fluxd-test-reg');
    port = await freePort();
  });
  afterEach(async () => {
    await removeLabelled();
    await Promise.allSettled(images.splice(0).map((image) => docker.getImage(image).remove()));
  });
  afterAll(() => removeLabelled());

  it('creates a loopback-only registry, then adopts it instead of recreating it', async () => {
    const runtime = await selectRuntime(config(), testDeps());
    expect(runtime.kind).toBe('docker');
    expect((await runtime.inspect()).registry.status).toBe('NotProvisioned');

    const registry = await runtime.up();
    expect(registry).toMatchObject({
      status: 'Running',
      endpoint: `localhost:${port}`,
      inClusterEndpoint: `localhost:${port}`,
    });
    const info = await docker.getContainer(name).inspect();
    expect(info.HostConfig.PortBindings).toEqual({
      '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }],
    });
    expect(info.Config.Labels).toMatchObject({
      'io.ksail-fluxd.managed': 'true',
      'io.ksail-fluxd.registry': name,
    });
    expect(info.Config.Env).toContain('REGISTRY_STORAGE_DELETE_ENABLED=true');
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Name: `${name}-data`, Destination: '/var/lib/registry' }),
    ]);
    expect((await fetch(`http://127.0.0.1:${port}/v2/`)).status).toBe(200);
    const external = externalAddress();
    if (external) expect(await canConnect(external, port)).toBe(false);

    await runtime.up();
    expect((await docker.getContainer(name).inspect()).Id).toBe(info.Id);
    const started = performance.now();
    await expect(ensureRegistry(config(), testDeps())).resolves.toMatchObject({ status: 'Running' });
    expect(performance.now() - started).toBeLessThan(500);
    expect((await runtime.inspect()).container?.id).toBe(info.Id);
  });

  it('keeps artifacts across down and up, and deletes them with --delete-volume', async () => {
    const runtime = await selectRuntime(config(), testDeps());
    await runtime.up();
    for (const tag of ['1.0.0', '1.0.1', '1.0.2']) await rawPush(port, 'test/app', tag, 4096);
    const down = await runtime.down();
    expect(down).toMatchObject({ removed: true, volumeDeleted: false });
    expect(down.message).toContain('--delete-volume');
    expect((await runtime.inspect()).registry.status).toBe('NotProvisioned');
    await docker.getVolume(`${name}-data`).inspect();

    await runtime.up();
    for (const tag of ['1.0.0', '1.0.1', '1.0.2']) expect(await pullable(port, 'test/app', tag)).toBe(true);

    expect(await runtime.down({ deleteVolume: true })).toMatchObject({ removed: true, volumeDeleted: true });
    await expect(docker.getVolume(`${name}-data`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('names the container or address holding the port, and the registryPort key', async () => {
    const holder = `${name}-holder`;
    const other = await docker.createContainer({
      name: holder,
      Image: 'registry:3',
      Labels: { [TEST_LABEL]: 'true' },
      HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
    });
    await other.start();
    const runtime = await selectRuntime(config(), testDeps());
    const error = await rejectionOf(runtime.up(), KsailError);
    expect(error.code).toBe('port-taken');
    expect(error.message).toContain(`container ${holder}`);
    expect(error.message).toContain('registryPort');
    await other.remove({ force: true, v: true });

    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const plain = await rejectionOf(runtime.up(), KsailError);
      expect(plain.code).toBe('port-taken');
      expect(plain.message).toContain(`port ${port} on 127.0.0.1`);
      // The holder is this test process: named with its pid and command line (issue 9).
      expect(plain.message).toContain(`taken by process ${process.pid} (`);
      expect(plain.message).toContain('registryPort');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect((await runtime.inspect()).registry.status).toBe('NotProvisioned');
  });

  it('names a ksail-fluxd process registry holding the port', async () => {
    const stateHome = await mkdtemp(join(tmpdir(), 'ksail-fluxd-state-'));
    const env = { ...process.env, XDG_STATE_HOME: stateHome };
    const proc = await selectRuntime(
      testConfig({ registryPort: port, registry: { name, runtime: 'process' } }),
      testDeps(env),
    );
    try {
      await proc.up();
      const pid = (await proc.inspect()).pid;
      const error = await rejectionOf((await selectRuntime(config(), testDeps(env))).up(), KsailError);
      expect(error.code).toBe('port-taken');
      expect(error.message).toContain(`registry process ${pid}`);
      expect(error.message).toContain(`\`kill ${pid}\``);
    } finally {
      await proc.down({ deleteVolume: true });
      await rm(stateHome, { recursive: true, force: true });
    }
  });

  it('under auto, keeps a live process registry started while Docker was down, until it is taken down', async () => {
    const stateHome = await mkdtemp(join(tmpdir(), 'ksail-fluxd-state-'));
    const env = { ...process.env, XDG_STATE_HOME: stateHome };
    const auto = testConfig({ registryPort: port, registry: { name, runtime: 'auto' } });
    const proc = await selectRuntime(
      testConfig({ registryPort: port, registry: { name, runtime: 'process' } }),
      testDeps(env),
    );
    try {
      await proc.up();
      const pid = (await proc.inspect()).pid;
      const runtime = await selectRuntime(auto, testDeps(env));
      expect(runtime.kind).toBe('process');
      await expect(ensureRegistry(auto, testDeps(env))).resolves.toMatchObject({ status: 'Running' });
      expect((await runtime.inspect()).pid).toBe(pid);
      await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });

      await runtime.down();
      expect((await selectRuntime(auto, testDeps(env))).kind).toBe('docker');
    } finally {
      await proc.down({ deleteVolume: true });
      await rm(stateHome, { recursive: true, force: true });
    }
  });

  it('explains how to get the image when it is missing and cannot be pulled', async () => {
    const runtime = await selectRuntime(config({}, { image: 'ksail-fluxd-test-missing:never' }), testDeps());
    const error = await rejectionOf(runtime.up(), KsailError);
    expect(error.code).toBe('image-missing');
    expect(error.message).toMatch(/pulling it failed/);
    for (const hint of [
      'docker pull',
      'docker save',
      'docker load',
      'build-registry-image.sh',
      'registry.image',
    ]) {
      expect(error.message).toContain(hint);
    }
    expect((await runtime.inspect()).registry.status).toBe('NotProvisioned');
  });

  it('refuses a container that differs from the config, naming each difference, until --recreate', async () => {
    // A different image id: registry:3 committed with an extra label.
    const oldImage = `${name}:old`;
    const base = await docker.createContainer({ Image: 'registry:3', Labels: { [TEST_LABEL]: 'true' } });
    await base.commit({ repo: name, tag: 'old', changes: [`LABEL ${TEST_LABEL}=true`] });
    images.push(oldImage);
    const oldPort = await freePort();
    const old = await selectRuntime(
      testConfig({ registryPort: oldPort, registry: { name, image: oldImage, runtime: 'docker' } }),
      testDeps(),
    );
    await old.up();
    const oldId = (await docker.getContainer(name).inspect()).Id;
    await rawPush(oldPort, 'test/app', '1.0.0', 4096);

    const runtime = await selectRuntime(config(), testDeps());
    const state = await runtime.inspect();
    expect(state.registry.status).toBe('Error');
    expect(state.differences).toEqual([`image ${oldImage} ≠ registry:3`, `port ${oldPort} ≠ ${port}`]);
    const error = await rejectionOf(runtime.up(), KsailError);
    expect(error.code).toBe('registry-mismatch');
    expect(error.message).toContain(`image ${oldImage} ≠ registry:3`);
    expect(error.message).toContain(`port ${oldPort} ≠ ${port}`);
    expect(error.message).toContain('--recreate');

    await expect(runtime.up({ recreate: true })).resolves.toMatchObject({ status: 'Running' });
    const info = await docker.getContainer(name).inspect();
    expect(info.Id).not.toBe(oldId);
    expect(info.Config.Image).toBe('registry:3');
    expect(await pullable(port, 'test/app', '1.0.0')).toBe(true); // the volume was kept
  });

  it('refuses to adopt a container published on a non-loopback address', async () => {
    await docker.createVolume({ Name: `${name}-data`, Labels: { [TEST_LABEL]: 'true' } });
    const open = await docker.createContainer({
      name,
      Image: 'registry:3',
      Labels: { [TEST_LABEL]: 'true' },
      HostConfig: {
        PortBindings: { '5000/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] },
        Mounts: [{ Type: 'volume', Source: `${name}-data`, Target: '/var/lib/registry' }],
      },
    });
    await open.start();
    const error = await rejectionOf((await selectRuntime(config(), testDeps())).up(), KsailError);
    expect(error.code).toBe('registry-mismatch');
    expect(error.message).toContain(`0.0.0.0:${port}`);
    expect(error.message).toContain('127.0.0.1');
    await docker
      .getVolume(`${name}-data`)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it('joins the cluster network and uses <name>:5000 inside the cluster', async () => {
    const network = uniqueName('ksail-fluxd-test-net');
    const missing = await rejectionOf(
      (await selectRuntime(config({ cluster: { network } }), testDeps())).up(),
      KsailError,
    );
    expect(missing.code).toBe('network-not-found');
    expect(missing.message).toContain('cluster.network');

    await docker.createNetwork({ Name: network, Labels: { [TEST_LABEL]: 'true' } });
    const runtime = await selectRuntime(config({ cluster: { network } }), testDeps());
    await expect(runtime.up()).resolves.toMatchObject({
      status: 'Running',
      endpoint: `localhost:${port}`,
      inClusterEndpoint: `${name}:5000`,
    });
    const state = await runtime.inspect();
    expect(state.container?.networks).toContain(network);
    expect(state.ready).toBe(true);
  });
});

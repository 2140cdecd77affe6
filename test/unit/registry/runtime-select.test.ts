import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { createDockerodeEngine } from '../../../src/registry/runtime/dockerode-engine.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { Config, type ResolvedConfig } from '../../../src/config/schema.js';
import { isKsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { ensureRegistry } from '../../../src/registry/runtime/ensure.js';
import { registryStatus } from '../../../src/registry/runtime/status.js';
import { selectRuntime, whichIn } from '../../../src/registry/runtime/select.js';
import { registrySettings } from '../../../src/registry/runtime/settings.js';
import type { RuntimeDeps } from '../../../src/registry/runtime/types.js';
import { freePort } from '../../support/free-port.js';
import { rejectionOf } from '../../support/rejection.js';

const config = (raw: Record<string, unknown>): ResolvedConfig => {
  const parsed = Config.parse({ project: 'p', ...raw });
  return { ...parsed, project: 'p', sources: [], file: undefined, baseDir: '/work/project' };
};

describe('runtime selection', () => {
  let dir: string;
  // A real Docker client pointed at a socket nobody listens on: an engine that does not answer.
  const noEngine = createDockerodeEngine(
    systemClock,
    new Dockerode({ socketPath: '/nonexistent/docker.sock' }),
  );
  const deps = (which: (bin: string) => Promise<string | undefined>): RuntimeDeps => ({
    logger: createSilentLogger(),
    clock: systemClock,
    env: { XDG_STATE_HOME: dir },
    docker: noEngine,
    which,
  });
  const nothing = () => Promise.resolve(undefined);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-select-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('falls back to a registry binary on PATH when no Docker engine answers', async () => {
    const runtime = await selectRuntime(
      config({}),
      deps((bin) => Promise.resolve(bin === 'docker-registry' ? '/usr/bin/docker-registry' : undefined)),
    );
    expect(runtime.kind).toBe('process');
  });

  it('lists what to install when neither Docker nor a binary is available', async () => {
    const error = await rejectionOf(selectRuntime(config({}), deps(nothing)));
    expect(isKsailError(error, 'runtime-unavailable')).toBe(true);
    for (const hint of ['docker.io', 'Docker Engine', 'docker-registry', 'registry.runtime: external']) {
      expect((error as Error).message).toContain(hint);
    }
  });

  it('says so when registry.runtime is docker and the engine does not answer', async () => {
    const error = await selectRuntime(config({ registry: { runtime: 'docker' } }), deps(nothing)).catch(
      (e: unknown) => e,
    );
    expect(isKsailError(error, 'runtime-unavailable')).toBe(true);
    expect((error as Error).message).toContain('registry.runtime is docker');
  });

  it('takes external at its word and only probes /v2/', async () => {
    const port = await freePort();
    const runtime = await selectRuntime(
      config({ registryPort: port, registry: { runtime: 'external' } }),
      deps(nothing),
    );
    expect(runtime.kind).toBe('external');
    const state = await runtime.inspect();
    expect(state.registry).toMatchObject({ status: 'Error', endpoint: `localhost:${port}` });
    expect((await runtime.down()).message).toContain('external');
    const gc = await rejectionOf(runtime.garbageCollect());
    expect(isKsailError(gc, 'unsupported')).toBe(true);
    expect((gc as Error).message).toContain('garbage-collect');
    const up = await rejectionOf(runtime.up());
    expect(isKsailError(up, 'registry-unreachable')).toBe(true);
  });

  it('reports a missing runtime as an Error status instead of failing', async () => {
    const report = await registryStatus(config({}), deps(nothing));
    expect(report).toMatchObject({ status: 'Error', runtime: 'none', endpoint: 'localhost:5000' });
    expect(report.lastError).toContain('docker-registry');
  });

  it('ensureRegistry with registryEnabled false only checks that something answers', async () => {
    const port = await freePort();
    const error = await rejectionOf(
      ensureRegistry(config({ registryEnabled: false, registryPort: port }), deps(nothing)),
    );
    expect(isKsailError(error, 'registry-unreachable')).toBe(true);
    expect((error as Error).message).toContain('registryEnabled');
  });

  it('ensureRegistry falls back from an absent Docker engine and says what to install', async () => {
    const error = await rejectionOf(ensureRegistry(config({}), deps(nothing)));
    expect(isKsailError(error, 'runtime-unavailable')).toBe(true);
    expect((error as Error).message).toContain('Docker Engine');
  });

  it('on a cluster network, waits for Docker instead of a registry process pods could never reach', async () => {
    const onNetwork = config({ cluster: { network: 'kind' } });
    const binary = deps((bin) =>
      Promise.resolve(bin === 'docker-registry' ? '/usr/bin/docker-registry' : undefined),
    );
    // Lazy: a second promise made up front could reject unhandled while the first is awaited.
    for (const attempt of [() => selectRuntime(onNetwork, binary), () => ensureRegistry(onNetwork, binary)]) {
      const error = await rejectionOf(attempt());
      expect(isKsailError(error, 'runtime-unavailable')).toBe(true);
      expect((error as Error).message).toContain(
        'cluster.network is kind, so the registry must run in Docker',
      );
    }
  });

  it('derives names, storage and state paths from the config', () => {
    const settings = registrySettings(
      config({ registry: { name: 'reg', dataPath: 'data/registry' }, cluster: { network: 'kind' } }),
      { XDG_STATE_HOME: '/state' },
    );
    expect(settings).toMatchObject({
      name: 'reg',
      image: 'registry:3',
      port: 5000,
      volumeName: 'reg-data',
      dataPath: '/work/project/data/registry',
      network: 'kind',
      stateDir: '/state/ksail-fluxd/registry/reg',
    });
    expect(registrySettings(config({}), {}).volumeName).toBe('local-registry-data');
  });

  it('finds executables on PATH only', async () => {
    const which = whichIn({ PATH: `/nonexistent:${join(process.execPath, '..')}` });
    expect(await which('node')).toBe(process.execPath.replace(/\/[^/]+$/, '/node'));
    expect(await which('no-such-binary-here')).toBeUndefined();
  });
});

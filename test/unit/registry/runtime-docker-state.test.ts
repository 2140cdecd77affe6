import { describe, expect, it } from 'vitest';
import { nonLoopbackBindings, isPortConflict } from '../../../src/registry/runtime/docker-container.js';
import type { ContainerInfo } from '../../../src/registry/runtime/docker-engine.js';
import { containerInfoOf, demuxDockerOutput } from '../../../src/registry/runtime/dockerode-engine.js';
import { dockerState } from '../../../src/registry/runtime/docker-state.js';
import type { RegistrySettings } from '../../../src/registry/runtime/settings.js';

const settings: RegistrySettings = {
  name: 'local-registry',
  image: 'registry:3',
  port: 5000,
  runtime: 'auto',
  volumeName: 'local-registry-data',
  dataPath: undefined,
  network: 'kind',
  stateDir: '/state/ksail-fluxd/registry/local-registry',
};

/** The fields of `docker inspect` that the runtime reads, through the adapter's parser. */
const info = (overrides: {
  running?: boolean;
  startedAt?: string;
  bindings?: unknown;
  networks?: string[];
  error?: string;
}): ContainerInfo =>
  containerInfoOf({
    Id: 'abc123',
    State: {
      Status: overrides.running === false ? 'exited' : 'running',
      Running: overrides.running ?? true,
      Restarting: false,
      OOMKilled: false,
      Error: overrides.error ?? '',
      ExitCode: 0,
      StartedAt: overrides.startedAt ?? '2026-01-01T00:00:00Z',
    },
    Config: { Image: 'registry:3', Labels: { 'io.ksail-fluxd.managed': 'true' } },
    HostConfig: {
      PortBindings: overrides.bindings ?? { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '5000' }] },
    },
    NetworkSettings: { Networks: Object.fromEntries((overrides.networks ?? ['bridge']).map((n) => [n, {}])) },
    Mounts: [],
  });

const state = (
  i: ContainerInfo,
  healthy: boolean,
  differences: string[] = [],
  now = Date.parse('2026-01-01T00:00:05Z'),
) =>
  dockerState({
    settings,
    storage: { kind: 'volume', volumeName: 'local-registry-data' },
    info: i,
    healthy,
    differences,
    now,
    healthTimeoutMs: 15_000,
  });

describe('docker registry state', () => {
  it('is Running and ready only when /v2/ answers and the cluster network is joined', () => {
    expect(state(info({ networks: ['bridge', 'kind'] }), true)).toMatchObject({
      ready: true,
      registry: { status: 'Running', inClusterEndpoint: 'local-registry:5000' },
    });
    const notJoined = state(info({}), true);
    expect(notJoined).toMatchObject({
      ready: false,
      registry: { status: 'Running', inClusterEndpoint: 'localhost:5000' },
    });
  });

  it('is Provisioning while starting and Error once the health timeout passed', () => {
    expect(state(info({}), false).registry.status).toBe('Provisioning');
    const late = state(info({}), false, [], Date.parse('2026-01-01T00:01:00Z'));
    expect(late.registry).toMatchObject({ status: 'Error' });
    expect(late.registry.lastError).toContain('does not answer');
  });

  it('is an Error naming the differences, NotProvisioned when stopped, Error when it failed', () => {
    const differing = state(info({}), true, ['image registry:2 ≠ registry:3']);
    expect(differing.registry.lastError).toContain('image registry:2 ≠ registry:3');
    expect(differing.registry.lastError).toContain('--recreate');
    expect(state(info({ running: false }), false).registry.status).toBe('NotProvisioned');
    expect(state(info({ running: false, error: 'mount failed' }), false).registry).toMatchObject({
      status: 'Error',
      lastError: 'container local-registry stopped: mount failed',
    });
  });

  it('finds published ports reachable from other machines', () => {
    expect(nonLoopbackBindings(info({}))).toEqual([]);
    expect(
      nonLoopbackBindings(
        info({
          bindings: {
            '5000/tcp': [
              { HostIp: '', HostPort: '5000' },
              { HostIp: '::1', HostPort: '5000' },
            ],
          },
        }),
      ),
    ).toEqual(['5000/tcp on 0.0.0.0:5000']);
    expect(() => nonLoopbackBindings(info({ bindings: { '5000/tcp': 'nonsense' } }))).toThrow();
  });

  it('recognises Docker port conflicts', () => {
    expect(isPortConflict(new Error('Bind for 127.0.0.1:5000 failed: port is already allocated'))).toBe(true);
    expect(isPortConflict(new Error('listen tcp4 127.0.0.1:5000: bind: address already in use'))).toBe(true);
    expect(isPortConflict(new Error('no such image'))).toBe(false);
  });

  it('demultiplexes exec and log output', () => {
    const frame = (type: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = type;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    expect(demuxDockerOutput(Buffer.concat([frame(1, 'out '), frame(2, 'err')]))).toBe('out err');
    expect(demuxDockerOutput(Buffer.from('plain text output'))).toBe('plain text output');
  });
});

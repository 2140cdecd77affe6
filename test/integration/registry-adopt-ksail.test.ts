import Dockerode from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ksailConfigLayer } from '../../src/config/effective.js';
import { parseKsailYaml } from '../../src/config/ksail-yaml.js';
import { KsailError } from '../../src/errors.js';
import { ensureRegistry } from '../../src/registry/runtime/ensure.js';
import { selectRuntime } from '../../src/registry/runtime/select.js';
import { freePort } from '../support/free-port.js';
import { rejectionOf } from '../support/rejection.js';
import { dockerAvailable, removeLabelled, TEST_LABEL } from '../support/test-registry.js';
import { rawPush, testConfig, testDeps, uniqueName, pullable } from './registry-runtime-support.js';

const docker = new Dockerode();

/**
 * KSail's registry as KSail creates it (../shared/reference/ksail.md): `<cluster>-local-registry`, registry:3,
 * 127.0.0.1:<port> → 5000, a named volume, restart unless-stopped, the label io.ksail.registry, and no label of
 * ours. The test label is only there so that cleanup finds it.
 */
const startKsailRegistry = async (cluster: string, port: number, volume: string): Promise<string> => {
  await docker.createVolume({ Name: volume, Labels: { [TEST_LABEL]: 'true' } });
  // A Talos cluster's network is named after the cluster; KSail puts its registry on it.
  await docker.createNetwork({ Name: cluster, Labels: { [TEST_LABEL]: 'true' } });
  const container = await docker.createContainer({
    name: `${cluster}-local-registry`,
    Image: 'registry:3',
    Labels: { 'io.ksail.registry': 'true', [TEST_LABEL]: 'true' },
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: {
      PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      RestartPolicy: { Name: 'unless-stopped' },
      Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/registry' }],
    },
  });
  await container.start();
  await docker.getNetwork(cluster).connect({ Container: container.id });
  return container.id;
};

describe.skipIf(!(await dockerAvailable()))('KSail’s running registry is adopted', () => {
  let cluster: string;
  let port: number;
  let volume: string;
  let id: string;
  const config = (registryPort = port) => {
    const ksail = parseKsailYaml('ksail.yaml', {
      apiVersion: 'ksail.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name: cluster },
      spec: {
        cluster: {
          distribution: 'Talos',
          gitOpsEngine: 'Flux',
          localRegistry: { registry: `localhost:${registryPort}` },
        },
      },
    });
    const layer = ksailConfigLayer(ksail);
    // KSail's volume is `local-registry`; a unique one here, so that the test touches nothing of a real KSail.
    return testConfig({
      ...layer,
      registry: { ...(layer.registry as object), volumeName: volume, runtime: 'docker' },
    });
  };

  beforeEach(async () => {
    cluster = uniqueName('ksail-fluxd-test-ksail');
    port = await freePort();
    volume = `${cluster}-volume`;
    id = await startKsailRegistry(cluster, port, volume);
  });
  afterEach(() => removeLabelled());
  afterAll(() => removeLabelled());

  it('uses it as it is: not recreated, no second registry, pushes land in it', async () => {
    expect(config()).toMatchObject({
      registry: { name: `${cluster}-local-registry` },
      cluster: { network: cluster },
    });
    await expect(ensureRegistry(config(), testDeps())).resolves.toMatchObject({
      status: 'Running',
      endpoint: `localhost:${port}`,
    });
    const runtime = await selectRuntime(config(), testDeps());
    const state = await runtime.inspect();
    expect(state).toMatchObject({ ready: true, differences: [], container: { id, adopted: true } });
    const ours = await docker.listContainers({
      all: true,
      filters: { label: ['io.ksail-fluxd.managed=true'] },
    });
    expect(ours.filter((c) => c.Names.some((n) => n.includes(cluster)))).toEqual([]);
    await rawPush(port, 'test/app', '1.0.0', 1024);
    expect(await pullable(port, 'test/app', '1.0.0')).toBe(true);
  });

  it('never recreates it, never stops or removes it, never deletes its volume', async () => {
    const runtime = await selectRuntime(config(), testDeps());
    const otherPort = await rejectionOf(
      (await selectRuntime(config(await freePort()), testDeps())).up(),
      KsailError,
    );
    expect(otherPort.message).toContain('does not recreate it: set registryPort to its port');
    const recreate = await rejectionOf(runtime.up({ recreate: true }), KsailError);
    expect(recreate.code).toBe('registry-mismatch');
    expect(recreate.message).toContain('not created by ksail-fluxd');

    const down = await runtime.down({ deleteVolume: true });
    expect(down).toMatchObject({ removed: false, volumeDeleted: false });
    expect(down.message).toContain("KSail's registry");
    const info = await docker.getContainer(`${cluster}-local-registry`).inspect();
    expect(info.Id).toBe(id);
    expect(info.State.Running).toBe(true);

    // Even with the container gone, the volume someone else made stays.
    await docker.getContainer(id).remove({ force: true, v: false });
    const refused = await rejectionOf(runtime.down({ deleteVolume: true }), KsailError);
    expect(refused.message).toContain(`volume ${volume} was not created by ksail-fluxd`);
    await expect(docker.getVolume(volume).inspect()).resolves.toMatchObject({ Name: volume });
  });
});

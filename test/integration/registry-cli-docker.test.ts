import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { runKsail } from '../support/run-cli.js';
import { dockerAvailable, removeLabelled } from '../support/test-registry.js';
import { pullable, rawPush, uniqueName } from './registry-runtime-support.js';

const docker = new Dockerode();

/**
 * `registry up|status|down` through the real CLI with the Docker runtime (issue #3). The CLI's containers and
 * volumes carry no test label, so cleanup goes by the label the product itself puts on them: the registry name,
 * which is unique per test.
 */
describe.skipIf(!(await dockerAvailable()))('registry CLI with the docker runtime', () => {
  let dir: string;
  let name: string;
  let port: number;
  let file: string;
  const registryLabel = () => `io.ksail-fluxd.registry=${name}`;
  const cli = (...argv: string[]) => runKsail(['--config', file, ...argv], { env: { XDG_STATE_HOME: dir } });
  const writeConfig = () =>
    writeFile(file, `project: t\nregistryPort: ${port}\nregistry:\n  name: ${name}\n  runtime: docker\n`);
  const statusJson = async (): Promise<Record<string, unknown>> =>
    JSON.parse((await cli('registry', 'status', '--json')).stdout) as Record<string, unknown>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-cli-docker-'));
    file = join(dir, 'ksail-fluxd.yaml');
    name = uniqueName('ksail-fluxd-test-cli');
    port = await freePort();
    await writeConfig();
  });
  afterEach(async () => {
    await removeLabelled(registryLabel());
    await Promise.allSettled([
      docker.getImage(`${name}:other`).remove(),
      rm(dir, { recursive: true, force: true }),
    ]);
  });

  it('brings a registry up, adopts it, takes it down keeping the volume, and deletes it with --delete-volume', async () => {
    expect(await statusJson()).toMatchObject({ status: 'NotProvisioned', runtime: 'docker' });

    const up = await cli('registry', 'up');
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`Running at localhost:${port}`);
    const first = await docker.getContainer(name).inspect();
    expect(first.HostConfig.PortBindings).toEqual({
      '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }],
    });
    expect(await statusJson()).toMatchObject({
      status: 'Running',
      runtime: 'docker',
      endpoint: `localhost:${port}`,
    });

    expect((await cli('registry', 'up')).code).toBe(0);
    expect((await docker.getContainer(name).inspect()).Id).toBe(first.Id); // adopted, not recreated

    await rawPush(port, 'test/app', '1.0.0', 4096);
    const down = await cli('registry', 'down');
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('--delete-volume');
    await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await docker.getVolume(`${name}-data`).inspect(); // kept
    expect(await statusJson()).toMatchObject({ status: 'NotProvisioned' });

    expect((await cli('registry', 'up')).code).toBe(0);
    expect(await pullable(port, 'test/app', '1.0.0')).toBe(true);

    const gone = await cli('registry', 'down', '--delete-volume');
    expect(gone.code).toBe(0);
    await expect(docker.getVolume(`${name}-data`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('refuses a container that differs from the config with exit 1 and the difference, until --recreate', async () => {
    expect((await cli('registry', 'up')).code).toBe(0);
    const before = await docker.getContainer(name).inspect();
    await rawPush(port, 'test/app', '1.0.0', 4096);
    const oldPort = port;
    port = await freePort();
    await writeConfig();

    const refused = await cli('registry', 'up');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`port ${oldPort} ≠ ${port}`);
    expect(refused.stderr).toContain('--recreate');
    expect((await docker.getContainer(name).inspect()).Id).toBe(before.Id); // untouched

    const recreated = await cli('registry', 'up', '--recreate');
    expect(recreated.stderr).toBe('');
    expect(recreated.code).toBe(0);
    const after = await docker.getContainer(name).inspect();
    expect(after.Id).not.toBe(before.Id);
    expect(after.HostConfig.PortBindings).toEqual({
      '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }],
    });
    expect(await pullable(port, 'test/app', '1.0.0')).toBe(true); // the volume was kept
  });
});

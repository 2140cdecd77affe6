import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createDockerodeEngine } from '../../src/registry/runtime/dockerode-engine.js';
import { systemClock } from '../../src/clock.js';
import { Config, type ResolvedConfig } from '../../src/config/schema.js';
import { createSilentLogger } from '../../src/logger.js';
import type { RuntimeDeps } from '../../src/registry/runtime/types.js';
import { pushFluxManifest } from '../support/push-test-artifact.js';
import { TEST_LABEL } from '../support/test-registry.js';

/** Unique per test: container, volume and network names must not collide with other runs. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;

/** A resolved config for the registry part (the loader is someone else's; the schema gives the defaults). */
export const testConfig = (raw: Record<string, unknown>, baseDir = '/tmp'): ResolvedConfig => {
  const parsed = Config.parse({ project: 'test', ...raw });
  return {
    ...parsed,
    project: parsed.project ?? 'test',
    sources: parsed.sources.map((s) => ({
      ...s,
      repository: s.repository ?? `test/${s.name}`,
      absolutePath: baseDir,
    })),
    file: undefined,
    baseDir,
  };
};

export const testDeps = (
  env: NodeJS.ProcessEnv = process.env,
  extra: Partial<RuntimeDeps> = {},
): RuntimeDeps => ({
  logger: createSilentLogger(),
  clock: systemClock,
  env,
  docker: createDockerodeEngine(systemClock),
  labels: { [TEST_LABEL]: 'true' },
  ...extra,
});

/** A raw OCI push (config + one random layer of `layerBytes`), independent of the client under test. */
export const rawPush = async (
  port: number,
  repo: string,
  tag: string,
  layerBytes = 100 * 1024,
  layer: Uint8Array = randomBytes(layerBytes),
): Promise<string> =>
  (await pushFluxManifest(`127.0.0.1:${port}`, repo, tag, Buffer.from(layer))).manifestDigest;

/** Whether the tag's manifest and every blob it references can be pulled. */
export const pullable = async (port: number, repo: string, tag: string): Promise<boolean> => {
  const base = `http://127.0.0.1:${port}/v2/${repo}`;
  const response = await fetch(`${base}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (!response.ok) return false;
  const manifest = (await response.json()) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  for (const { digest } of [manifest.config, ...manifest.layers]) {
    const blob = await fetch(`${base}/blobs/${digest}`);
    await blob.arrayBuffer();
    if (!blob.ok) return false;
  }
  return true;
};

/** A non-loopback IPv4 address of this machine, if it has one. */
export const externalAddress = (): string | undefined =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** Whether a TCP connection to host:port succeeds within a second. */
export const canConnect = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

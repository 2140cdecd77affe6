import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../src/registry/runtime/process-files.js';
import { freePort } from './free-port.js';

/**
 * A real OCI registry for tests: `registry:3` through Docker when an engine answers, else Debian's
 * `docker-registry` binary as a child process. Every container and volume carries TEST_LABEL so that tests
 * (and a crashed run's successor) can remove them by label.
 */
export const TEST_LABEL = 'io.ksail-fluxd.test';
/**
 * The shared registry of a test run carries this label (value: the owning pid) instead of TEST_LABEL, so that
 * tests removing their own containers by TEST_LABEL never remove it, and a later run can tell a dead run's leftovers.
 */
export const SHARED_LABEL = 'io.ksail-fluxd.test-shared';

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  kind: 'docker' | 'process';
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

let dockerProbe: Promise<boolean> | undefined;

/**
 * Whether a Docker engine answers, asked once per process. On CI (`CI` set) an engine that does not answer is an
 * error rather than a reason to skip: the Docker suites would otherwise skip silently and the run stay green.
 */
export const dockerAvailable = (): Promise<boolean> =>
  (dockerProbe ??= (async () => {
    const result = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], {
      reject: false,
      timeout: 5000,
    });
    if (result.exitCode === 0) return true;
    if (process.env.CI)
      throw new Error(
        `Docker does not answer \`docker info\` (${result.stderr.trim() || result.shortMessage}) and CI is set, ` +
          'so the Docker suites would be skipped: scripts/ci-setup.sh should have started dockerd and made it ' +
          'reachable for this user; run it, or see /var/log/ksail-fluxd-dockerd.log.',
      );
    return false;
  })());

export const waitForRegistry = async (endpoint: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A ref'd timer, not AbortSignal.timeout (unref'd): right after `docker run` the fetch alone at times holds
    // nothing that keeps the event loop alive, and the test runner's main process then exits 0 in the middle of
    // the global set-up, having run no test at all.
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(), 1000);
    try {
      const response = await fetch(`http://${endpoint}/v2/`, { signal: attempt.signal });
      if (response.ok) return;
    } catch {
      // not up yet
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline)
      throw new Error(`test registry at ${endpoint} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

export const startDockerRegistry = async (
  options: { port?: number; name?: string; label?: string } = {},
): Promise<TestRegistry> => {
  const port = options.port ?? (await freePort());
  const name = options.name ?? `ksail-fluxd-test-registry-${port}`;
  await execa('docker', [
    'run',
    '-d',
    '--name',
    name,
    '--label',
    options.label ?? `${TEST_LABEL}=true`,
    '-p',
    `127.0.0.1:${port}:5000`,
    '-e',
    'REGISTRY_STORAGE_DELETE_ENABLED=true',
    'registry:3',
  ]);
  const endpoint = `127.0.0.1:${port}`;
  await waitForRegistry(endpoint);
  return {
    endpoint,
    port,
    kind: 'docker',
    stop: async () => {
      await execa('docker', ['stop', '-t', '1', name]);
    },
    start: async () => {
      await execa('docker', ['start', name]);
      await waitForRegistry(endpoint);
    },
    close: async () => {
      await execa('docker', ['rm', '-f', '-v', name], { reject: false });
    },
  };
};

export const startProcessRegistry = async (options: { port?: number } = {}): Promise<TestRegistry> => {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-registry-'));
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: error}',
      'storage:',
      `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
      '  delete: {enabled: true}',
      `http: {addr: "127.0.0.1:${port}"}`,
      '',
    ].join('\n'),
  );
  const endpoint = `127.0.0.1:${port}`;
  let child: ResultPromise | undefined;
  const start = async (): Promise<void> => {
    child = execa('docker-registry', ['serve', config], { reject: false, stdio: 'ignore' });
    await waitForRegistry(endpoint);
  };
  const stop = async (): Promise<void> => {
    child?.kill('SIGTERM');
    await child;
    child = undefined;
  };
  await start();
  return {
    endpoint,
    port,
    kind: 'process',
    start,
    stop,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/** Docker when it answers, else the binary. */
export const startTestRegistry = async (options: { label?: string } = {}): Promise<TestRegistry> =>
  (await dockerAvailable()) ? startDockerRegistry(options) : startProcessRegistry();

/** Removes shared registries left by test runs whose process is gone. */
export const removeStaleShared = async (): Promise<void> => {
  // Memoized, so cheap; it keeps this safe in a global set-up or afterAll on a machine without Docker.
  if (!(await dockerAvailable())) return;
  const listed = await execa(
    'docker',
    ['ps', '-a', '--filter', `label=${SHARED_LABEL}`, '--format', `{{.ID}} {{.Label "${SHARED_LABEL}"}}`],
    { reject: false },
  );
  const owners = listed.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));
  const stale: string[] = [];
  for (const [id, label] of owners) {
    const pid = Number(label);
    // A label that is no pid (or pid 0, this process group) has no live owner either.
    if (id && !(Number.isInteger(pid) && pid > 0 && (await isAlive(pid)))) stale.push(id);
  }
  if (stale.length) await execa('docker', ['rm', '-f', '-v', ...stale], { reject: false });
};

/** Removes every container, volume and network a test created (by label), even after a crash. */
export const removeLabelled = async (label = TEST_LABEL): Promise<void> => {
  // Memoized, so cheap; it keeps an afterAll safe on a machine without Docker.
  if (!(await dockerAvailable())) return;
  const ids = await execa('docker', ['ps', '-aq', '--filter', `label=${label}`], { reject: false });
  const containers = ids.stdout.split('\n').filter(Boolean);
  if (containers.length) await execa('docker', ['rm', '-f', '-v', ...containers], { reject: false });
  const volumes = await execa('docker', ['volume', 'ls', '-q', '--filter', `label=${label}`], {
    reject: false,
  });
  const names = volumes.stdout.split('\n').filter(Boolean);
  if (names.length) await execa('docker', ['volume', 'rm', '-f', ...names], { reject: false });
  const networks = await execa('docker', ['network', 'ls', '-q', '--filter', `label=${label}`], {
    reject: false,
  });
  const nets = networks.stdout.split('\n').filter(Boolean);
  if (nets.length) await execa('docker', ['network', 'rm', ...nets], { reject: false });
};

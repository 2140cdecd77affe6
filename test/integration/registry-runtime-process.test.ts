import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKsailError } from '../../src/errors.js';
import { systemClock } from '../../src/clock.js';
import { realDaemonDeps } from '../../src/daemon/real-deps.js';
import { createSilentLogger } from '../../src/logger.js';
import { ensureRegistry } from '../../src/registry/runtime/ensure.js';
import { selectRuntime, whichIn } from '../../src/registry/runtime/select.js';
import { isAlive } from '../../src/registry/runtime/process-files.js';
import type { RegistryRuntime } from '../../src/registry/runtime/types.js';
import { freePort } from '../support/free-port.js';
import { runKsail } from '../support/run-cli.js';
import { rejectionOf } from '../support/rejection.js';
import { pullable, rawPush, testConfig, testDeps, uniqueName } from './registry-runtime-support.js';

/** The real program (every command, as the binary has them). */
const runRegistryCli = (argv: string[], env: NodeJS.ProcessEnv) => runKsail(argv, { env });

describe.skipIf(!(await whichIn(process.env)('docker-registry')))('process registry runtime', () => {
  let stateHome: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let name: string;
  const runtimes: RegistryRuntime[] = [];
  const config = () => testConfig({ registryPort: port, registry: { name, runtime: 'process' } });
  const pidFile = () => join(stateHome, 'ksail-fluxd', 'registry', name, 'registry.pid');
  const readPid = async () => Number((await readFile(pidFile(), 'utf8')).trim());

  beforeEach(async () => {
    stateHome = await mkdtemp(join(tmpdir(), 'ksail-fluxd-state-'));
    env = { ...process.env, XDG_STATE_HOME: stateHome };
    port = await freePort();
    name = uniqueName('proc');
  });
  afterEach(async () => {
    // Stop whatever a failed test left running, by its recorded pid.
    await Promise.allSettled(runtimes.splice(0).map((r) => r.close?.() ?? Promise.resolve()));
    const pid = await readPid().catch(() => undefined);
    if (pid && (await isAlive(pid))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(stateHome, { recursive: true, force: true });
  });

  it('starts a detached registry that keeps artifacts across down and up, collects garbage, deletes data', async () => {
    const runtime = await selectRuntime(config(), testDeps(env));
    expect(runtime.kind).toBe('process');
    runtimes.push(runtime);
    await expect(runtime.up()).resolves.toMatchObject({ status: 'Running', endpoint: `localhost:${port}` });
    const pid = await readPid();
    // Detached: its own session, so it outlives the CLI that started it.
    const { stdout } = await execa('ps', ['-o', 'sid=', '-p', String(pid)]);
    expect(Number(stdout.trim())).toBe(pid);
    const state = await runtime.inspect();
    expect(state).toMatchObject({ pid, ready: true, registry: { status: 'Running' } });
    const configText = await readFile(join(stateHome, 'ksail-fluxd', 'registry', name, 'config.yml'), 'utf8');
    expect(configText).toContain(`addr: 127.0.0.1:${port}`);

    await runtime.up();
    expect(await readPid()).toBe(pid); // adopted, not restarted
    for (const tag of ['1.0.0', '1.0.1', '1.0.2']) await rawPush(port, 'test/app', tag, 4096);
    expect((await runtime.down()).removed).toBe(true);
    expect(await isAlive(pid)).toBe(false);
    expect((await runtime.inspect()).registry.status).toBe('NotProvisioned');

    await ensureRegistry(config(), testDeps(env));
    for (const tag of ['1.0.0', '1.0.1', '1.0.2']) expect(await pullable(port, 'test/app', tag)).toBe(true);
    expect((await runtime.garbageCollect()).output).toContain('blobs marked');
    const bytes = await runtime.storageBytes();
    expect(bytes).toBeGreaterThan(3 * 4096);

    await runtime.down({ deleteVolume: true });
    await expect(stat(join(stateHome, 'ksail-fluxd', 'registry', name, 'data'))).rejects.toThrow();
  });

  it('restarts a supervised registry that dies', async () => {
    const runtime = await selectRuntime(config(), testDeps(env, { supervise: true }));
    runtimes.push(runtime);
    await runtime.up();
    const first = await readPid();
    process.kill(first, 'SIGKILL');
    await vi.waitFor(
      async () => {
        const pid = await readPid();
        expect(pid).not.toBe(first);
        expect((await fetch(`http://127.0.0.1:${port}/v2/`)).status).toBe(200);
      },
      { timeout: 10_000, interval: 100 },
    );
    await runtime.close?.();
    await runtime.close?.(); // idempotent
    await runtime.down();
  });

  it("the daemon's registry deps keep a process registry supervised until disposed", async () => {
    const deps = realDaemonDeps({
      config: config(),
      logger: createSilentLogger(),
      clock: systemClock,
      env,
      version: '0.0.0-test',
    });
    await expect(deps.ensureRegistry(config())).resolves.toMatchObject({ status: 'Running' });
    const first = await readPid();
    process.kill(first, 'SIGKILL');
    // No push, no re-ensure: the supervisor alone brings it back.
    await vi.waitFor(
      async () => {
        expect(await readPid()).not.toBe(first);
        expect((await fetch(`http://127.0.0.1:${port}/v2/`)).status).toBe(200);
      },
      { timeout: 10_000, interval: 100 },
    );
    // Ensuring again goes through the kept handle and adopts the restarted process.
    const second = await readPid();
    await expect(deps.ensureRegistry(config())).resolves.toMatchObject({ status: 'Running' });
    expect(await readPid()).toBe(second);
    await deps.dispose?.();
    expect(await isAlive(second)).toBe(true); // disposing stops the supervision, not the registry
    await (await selectRuntime(config(), testDeps(env))).down();
  });

  it('reports a port held by another process', async () => {
    const other = await selectRuntime(
      testConfig({ registryPort: port, registry: { name: `${name}-other`, runtime: 'process' } }),
      testDeps(env),
    );
    await other.up();
    try {
      const error = await rejectionOf((await selectRuntime(config(), testDeps(env))).up());
      expect(isKsailError(error, 'port-taken')).toBe(true);
      expect((error as Error).message).toContain(`port ${port} on 127.0.0.1`);
      expect((error as Error).message).toContain('registryPort');
    } finally {
      await other.down();
    }
  });

  it('runs registry up, status and down from the CLI', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-cli-'));
    const file = join(dir, 'ksail-fluxd.yaml');
    await writeFile(
      file,
      `project: t\nregistryPort: ${port}\nregistry:\n  name: ${name}\n  runtime: process\n`,
    );
    const cli = (...argv: string[]) =>
      runRegistryCli(['--config', file, ...argv], { XDG_STATE_HOME: stateHome });
    try {
      const up = await cli('registry', 'up');
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
      expect(up.stdout).toContain(`Running at localhost:${port}`);
      const status = await cli('registry', 'status', '--json');
      expect(JSON.parse(status.stdout)).toMatchObject({
        status: 'Running',
        runtime: 'process',
        pid: await readPid(),
      });
      const text = await cli('registry', 'status');
      expect(text.stdout).toMatch(/status\s+Running/);
      const down = await cli('registry', 'down');
      expect(down.stdout).toContain('stay');
      expect(JSON.parse((await cli('registry', 'status', '--json')).stdout)).toMatchObject({
        status: 'NotProvisioned',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

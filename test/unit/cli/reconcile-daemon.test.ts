import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/program.js';
import { registerReconcileCommand } from '../../../src/cli/reconcile.js';
import { startControlServer, type ControlServer } from '../../../src/daemon/control/control-server.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createFakeControl, tempDir, type FakeControl } from '../daemon/control-fake.js';

/** `ksail-fluxd reconcile` when a daemon answers on the socket (issue #5). */
describe('ksail-fluxd reconcile through the daemon', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let server: ControlServer | undefined;
  let fake: FakeControl;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'runtime') };
    fake = createFakeControl();
    server = await startControlServer({
      socketPath: join(dir, 'runtime', 'ksail-fluxd.sock'),
      control: fake.control,
      logger: createSilentLogger(),
      env,
    });
  });
  afterEach(async () => {
    await server?.close();
    await cleanup();
  });

  const run = async (...argv: string[]) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const code = await runCli({
      argv,
      io: { stdout, stderr, isTty: false },
      env,
      cwd: dir,
      registrars: [registerReconcileCommand],
    });
    return { code, out, err };
  };

  it('says that --timeout does not reach the daemon, which uses flux.reconcileTimeout', async () => {
    const result = await run('reconcile', 'web', '--wait', '--timeout', '5m');
    expect(result.code).toBe(0);
    expect(fake.reconcileCalls).toEqual([{ sources: ['web'], wait: true }]);
    expect(result.out).toContain('web  applied 1.0.3@sha256:abc');
    expect(result.err).toContain('--timeout applies when reconciling directly');
    expect(result.err).toContain('flux.reconcileTimeout (2m)');
  });

  it('prints no note without --timeout', async () => {
    const result = await run('reconcile', 'web', '--wait');
    expect(result.code).toBe(0);
    expect(result.err).toBe('');
  });
});

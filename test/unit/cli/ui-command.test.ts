import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/program.js';
import { findOpener, registerUiCommand } from '../../../src/cli/ui.js';
import { startControlServer, type ControlServer } from '../../../src/daemon/control/control-server.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createFakeControl, tempDir, type FakeControl } from '../daemon/control-fake.js';

/** `ksail-fluxd ui`: the link comes from the daemon over the control socket; a browser is optional. */
let dir: string;
let cleanup: () => Promise<void>;
let env: NodeJS.ProcessEnv;
let server: ControlServer | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'runtime'), PATH: '' };
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await cleanup();
});

const startFake = async (): Promise<FakeControl> => {
  const fake = createFakeControl();
  server = await startControlServer({
    socketPath: join(dir, 'runtime', 'ksail-fluxd.sock'),
    control: fake.control,
    logger: createSilentLogger(),
    env,
  });
  return fake;
};

const run = async (...argv: string[]) => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await runCli({
    argv,
    io: { stdout, stderr, isTty: false },
    env,
    cwd: dir,
    registrars: [registerUiCommand],
  });
  return { code, out, err };
};

describe('ksail-fluxd ui', () => {
  it("prints the running daemon's link, and never fails for want of a browser", async () => {
    const fake = await startFake();
    fake.setUiUrl('http://127.0.0.1:8470/?token=abc');
    const printed = await run('ui');
    expect(printed).toMatchObject({ code: 0, out: 'http://127.0.0.1:8470/?token=abc\n' });
    expect(await run('ui', '--json', '--no-open')).toMatchObject({
      code: 0,
      out: `${JSON.stringify({ url: 'http://127.0.0.1:8470/?token=abc' }, null, 2)}\n`,
    });
  });

  it('says how to turn the dashboard on when the daemon runs without it', async () => {
    await startFake();
    const { code, err } = await run('ui');
    expect(code).toBe(1);
    expect(err).toContain('the dashboard is off');
  });

  it('says when no daemon runs', async () => {
    const { code, err } = await run('ui');
    expect(code).toBe(3);
    expect(err).toContain('ksail-fluxd start');
  });

  it('opens with xdg-open only when it is on PATH and a desktop is at hand', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    expect(await findOpener({ PATH: bin, DISPLAY: ':0' })).toBeUndefined();
    await writeFile(join(bin, 'xdg-open'), '#!/bin/sh\n');
    await chmod(join(bin, 'xdg-open'), 0o755);
    expect(await findOpener({ PATH: bin })).toBeUndefined();
    expect(await findOpener({ PATH: bin, DISPLAY: ':0' })).toBe(join(bin, 'xdg-open'));
    expect(await findOpener({ PATH: `/nonexistent:${bin}`, WAYLAND_DISPLAY: 'wayland-0' })).toBe(
      join(bin, 'xdg-open'),
    );
  });
});

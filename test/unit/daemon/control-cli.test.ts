import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerEventsCommand } from '../../../src/cli/events.js';
import { registerPauseResumeCommands } from '../../../src/cli/pause-resume.js';
import { runCli } from '../../../src/cli/program.js';
import { registerStatusCommand } from '../../../src/cli/status.js';
import { startControlServer, type ControlServer } from '../../../src/daemon/control/control-server.js';
import { DaemonStatus } from '../../../src/daemon/control/control-types.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createFakeControl, tempDir, type FakeControl } from './control-fake.js';

let dir: string;
let cleanup: () => Promise<void>;
let socketPath: string;
let env: NodeJS.ProcessEnv;
let server: ControlServer | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  // No config file: the socket comes from XDG_RUNTIME_DIR, like a user's default set-up.
  env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'runtime') };
  socketPath = join(dir, 'runtime', 'ksail-fluxd.sock');
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await cleanup();
});

const startDaemon = async (): Promise<FakeControl> => {
  const fake = createFakeControl();
  server = await startControlServer({ socketPath, control: fake.control, logger: createSilentLogger(), env });
  return fake;
};

const text = (stream: PassThrough): (() => string) => {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => (buffer += chunk.toString('utf8')));
  return () => buffer;
};

const run = (...argv: string[]) => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = text(stdout);
  const err = text(stderr);
  const exit = runCli({
    argv,
    io: { stdout, stderr, isTty: false },
    env,
    cwd: dir,
    registrars: [registerStatusCommand, registerEventsCommand, registerPauseResumeCommands],
  });
  return { exit, out, err };
};

describe('ksail-fluxd status / events / pause / resume', () => {
  it('status without a daemon says so and exits 3', async () => {
    const { exit, err } = run('status');
    expect(await exit).toBe(3);
    expect(err()).toContain(`ksail-fluxd daemon is not running (socket ${socketPath})`);
  });

  it('status prints mode, registry, cluster, one line per source and recent requests', async () => {
    await startDaemon();
    const { exit, out } = run('status');
    expect(await exit).toBe(0);
    const lines = out().split('\n');
    expect(lines[0]).toBe('ksail-fluxd 0.1.0 (pid 4242), running since 2025-01-01T09:00:00Z');
    expect(out()).toMatch(/mode\s+Automatic/);
    expect(out()).toMatch(/registry\s+Running at localhost:5050/);
    expect(out()).toMatch(/cluster\s+reachable/);
    const web = lines.find((line) => line.startsWith('web '));
    expect(web).toMatch(/^web\s+1\.0\.3\s+sha256:0123456789ab\s+2025-01-01T10:00:00Z\s+idle\s+-\s+-$/);
    const api = lines.find((line) => line.startsWith('api '));
    expect(api).toMatch(/error\s+req-2\s+kustomize build failed: missing resource$/);
    expect(lines.find((line) => line.startsWith('req-1'))).toMatch(
      /^req-1\s+web\s+succeeded\s+2025-01-01T10:00:00Z\s+1\.5s\s+web@1\.0\.3@sha256:abc$/,
    );
  });

  it('status --socket-path prints the socket path, with or without a daemon', async () => {
    const { exit, out } = run('status', '--socket-path');
    expect(await exit).toBe(0);
    expect(out()).toBe(`${socketPath}\n`);
  });

  it('status keeps every table cell on one line; --json has the full text', async () => {
    const fake = await startDaemon();
    const problems =
      'source /work/api has 2 invalid manifests; fix them and save again:\na.yaml:1:1 bad\nb.yaml:2:2 worse';
    fake.editStatus((status) => ({
      ...status,
      cluster: { reachable: false, lastError: 'cluster unreachable\nat https://127.0.0.1:6443' },
      sources: status.sources.map((source) =>
        source.name === 'api' ? { ...source, lastError: problems } : source,
      ),
      recentRequests: status.recentRequests.map((request) => ({
        ...request,
        outcome: 'failed',
        error: `Flux said:\n${'x'.repeat(400)}`,
      })),
    }));
    const { exit, out } = run('status');
    expect(await exit).toBe(0);
    const lines = out().split('\n');
    expect(lines.find((line) => line.startsWith('api '))).toMatch(
      /has 2 invalid manifests; fix them and save again: \(\+2 more lines\) \[full text: status --json\]$/,
    );
    expect(lines.find((line) => line.startsWith('cluster'))).toContain('cluster unreachable (+1 more line)');
    expect(lines.find((line) => line.startsWith('req-1'))?.length).toBeLessThan(300);
    expect(out()).not.toContain('a.yaml:1:1');
    expect(out()).not.toContain('x'.repeat(200));
    const json = run('status', '--json');
    expect(await json.exit).toBe(0);
    expect(JSON.parse(json.out()).sources[1].lastError).toBe(problems);
  });

  it('status --json prints the daemon status document', async () => {
    await startDaemon();
    const { exit, out } = run('status', '--json');
    expect(await exit).toBe(0);
    expect(DaemonStatus.parse(JSON.parse(out())).pid).toBe(4242);
  });

  it('pause and resume reach the daemon; without one they exit 3', async () => {
    expect(await run('pause').exit).toBe(3);
    const fake = await startDaemon();
    const paused = run('pause');
    expect(await paused.exit).toBe(0);
    expect(paused.out()).toContain('paused');
    expect(fake.control.status().paused).toBe(true);
    expect(await run('status').exit).toBe(0);
    const resumed = run('resume', '--json');
    expect(await resumed.exit).toBe(0);
    expect(JSON.parse(resumed.out())).toEqual({ paused: false });
  });

  it('events streams NDJSON until interrupted, filtered by --source', async () => {
    const fake = await startDaemon();
    const { exit, out } = run('events', '--source', 'web');
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(1));
    fake.emit({ type: 'push', at: '2025-01-01T10:00:00Z', source: 'web', data: { version: '1.0.4' } });
    fake.emit({ type: 'push', at: '2025-01-01T10:00:01Z', source: 'api', data: {} });
    fake.emit({ type: 'paused', at: '2025-01-01T10:00:02Z', data: {} });
    await vi.waitFor(() => expect(out().split('\n').filter(Boolean)).toHaveLength(2));
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    const events = out()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(events.map((event) => event.type)).toEqual(['push', 'paused']);
    expect(events[0].data).toEqual({ version: '1.0.4' });
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(0));
  });

  it('events exits 3 when the daemon stops', async () => {
    const fake = await startDaemon();
    const { exit, err } = run('events');
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(1));
    await server?.close();
    expect(await exit).toBe(3);
    expect(err()).toContain('ended the event stream');
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PassThrough } from 'node:stream';
import { KsailError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { makeConfig, makeHarness, type Harness } from './fakes.js';

let harness: Harness | undefined;

const start = async (names: string[], raw: Record<string, unknown> = {}) => {
  harness = makeHarness(makeConfig(names, raw));
  await harness.daemon.start();
  await vi.advanceTimersByTimeAsync(0);
  return harness;
};

describe('createDaemon', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('compares every source at start-up, applies the Flux objects and reconciles what it pushed', async () => {
    harness = makeHarness(makeConfig(['app', 'infra']));
    harness.publisher.seed('infra', 'deployed', 4);
    await harness.daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    const { publisher, flux } = harness;
    expect(publisher.calls.sort()).toEqual(['app', 'infra']);
    expect(publisher.pushed).toEqual([{ source: 'app', version: '1.0.0', content: 'initial' }]);
    expect(flux.ensured).toEqual(
      expect.arrayContaining([
        { source: 'app', version: '1.0.0' },
        { source: 'infra', version: '1.0.4' },
      ]),
    );
    expect(flux.reconciled.map((request) => Object.keys(request.expected ?? {}))).toEqual([['app']]);
    const status = harness.daemon.control.status();
    expect(status.sources.find((source) => source.name === 'app')).toMatchObject({
      lastVersion: '1.0.0',
      digest: 'sha256:m-1.0.0',
      tagPatched: true,
      state: 'idle',
      pendingRequests: [],
    });
    expect(status.recentRequests[0]).toMatchObject({ outcome: 'succeeded', sources: ['app'] });
  });

  it('tag writes carry the mode and a signal that close() aborts', async () => {
    const { flux, daemon } = await start(['app'], { flux: { mode: 'Manual' } });
    const [first] = flux.moveOptions;
    expect(first).toMatchObject({ hold: true });
    expect(first?.signal?.aborted).toBe(false);
    await daemon.close();
    expect(first?.signal?.aborted).toBe(true);
  });

  it('status shows pushing while a changed source uploads', async () => {
    const { publisher, watchers, daemon } = await start(['app']);
    let upload!: () => void;
    publisher.pushGate = new Promise((resolve) => (upload = resolve));
    publisher.content.set('app', 'v2');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(daemon.control.status().sources[0]?.state).toBe('pushing');
    upload();
    await vi.advanceTimersByTimeAsync(0);
    expect(daemon.control.status().sources[0]).toMatchObject({ state: 'idle', lastVersion: '1.0.1' });
  });

  it('a push patches the tag and reconciles with the expected version; an unchanged save does neither', async () => {
    const { publisher, flux, watchers, daemon } = await start(['app']);
    publisher.content.set('app', 'v2');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(flux.patched).toEqual([{ source: 'app', version: '1.0.1' }]);
    const request = flux.reconciled.at(-1)!;
    expect(request.expected).toEqual({ app: { tag: '1.0.1', digest: 'sha256:m-1.0.1' } });
    expect(request.targets).toEqual([
      { kind: 'OCIRepository', name: 'app', namespace: 'flux-system' },
      { kind: 'Kustomization', name: 'app', namespace: 'flux-system' },
    ]);
    const reconciles = flux.reconciled.length;
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(publisher.calls).toHaveLength(3);
    expect(flux.patched).toHaveLength(1);
    expect(flux.reconciled).toHaveLength(reconciles);
    expect(harness!.ofType('unchanged')).toHaveLength(1);
    expect(daemon.control.request(request.id)).toMatchObject({
      outcome: 'succeeded',
      results: [{ source: 'app', revision: '1.0.1@sha256:m-1.0.1' }],
    });
  });

  it('ignored files do not wake the pipeline', async () => {
    const h = await start(['app']);
    const { publisher, watchers } = h;
    watchers.emit('app', '.deploy.yaml.swp');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.calls).toHaveLength(1);
    expect(h.ofType('change')).toEqual([]);
    // The same watcher's event for a manifest does wake it.
    watchers.emit('app', 'deploy.yaml');
    await vi.advanceTimersByTimeAsync(250);
    expect(publisher.calls).toHaveLength(2);
  });

  it('keeps pushing while the cluster is away and applies the latest tag and the request when it is back', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { publisher, flux, watchers, daemon } = harness;
    flux.reachable = false;
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    for (const content of ['v2', 'v3']) {
      publisher.content.set('app', content);
      watchers.emit('app');
      await vi.advanceTimersByTimeAsync(250);
    }
    expect(publisher.pushed.map((push) => push.version)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    const status = daemon.control.status();
    expect(status.cluster.reachable).toBe(false);
    expect(status.sources[0]).toMatchObject({ tagPatched: false });
    expect(status.sources[0]?.pendingRequests).toHaveLength(1);
    flux.reachable = true;
    await vi.advanceTimersByTimeAsync(10_000);
    // The objects are applied once, at the latest version; the requests merged into one for that version.
    expect(flux.ensured).toEqual([{ source: 'app', version: '1.0.2' }]);
    expect(flux.reconciled).toHaveLength(1);
    expect(flux.reconciled[0]?.expected).toEqual({ app: { tag: '1.0.2', digest: 'sha256:m-1.0.2' } });
    expect(daemon.control.status()).toMatchObject({ cluster: { reachable: true } });
    expect(daemon.control.status().sources[0]).toMatchObject({ tagPatched: true, pendingRequests: [] });
  });

  it('a reconcile failure is reported on the request, not retried', async () => {
    const { publisher, flux, watchers, daemon } = await start(['app']);
    flux.reconcileError = new KsailError(
      'reconcile-failed',
      'Kustomization flux-system/app failed: bad manifest',
    );
    publisher.content.set('app', 'v2');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(daemon.control.status().recentRequests[0]).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining('bad manifest'),
    });
  });

  it('status shows an invalid manifest until the next valid save', async () => {
    const { publisher, watchers, daemon } = await start(['app']);
    publisher.failWith = () =>
      new KsailError('manifest-invalid', 'deploy.yaml:2:1: mapping values are not allowed');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(daemon.control.status().sources[0]).toMatchObject({
      state: 'error',
      lastError: expect.stringContaining('deploy.yaml:2:1'),
    });
    expect(harness!.ofType('error').at(-1)).toMatchObject({
      source: 'app',
      data: { code: 'manifest-invalid' },
    });
    publisher.failWith = undefined;
    publisher.content.set('app', 'fixed');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(daemon.control.status().sources[0]).toMatchObject({ state: 'idle', lastVersion: '1.0.1' });
    expect(daemon.control.status().sources[0]?.lastError).toBeUndefined();
  });

  it('pause stops acting on saves; resume runs the sources that changed', async () => {
    const { publisher, watchers, daemon } = await start(['app', 'infra']);
    daemon.control.pause();
    publisher.content.set('app', 'v2');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.calls).toHaveLength(2);
    expect(daemon.control.status()).toMatchObject({ paused: true });
    expect(daemon.control.status().sources.map((source) => source.state)).toEqual(['paused', 'paused']);
    daemon.control.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(publisher.calls.slice(2)).toEqual(['app']);
    expect(publisher.pushed.at(-1)).toMatchObject({ source: 'app', content: 'v2' });
    expect(harness!.ofType('paused')).toHaveLength(1);
    expect(harness!.ofType('resumed')).toHaveLength(1);
  });

  it('push runs the named sources, and rejects unknown ones', async () => {
    const { publisher, daemon } = await start(['app', 'infra']);
    await expect(daemon.control.push({ sources: ['app'], wait: false })).resolves.toEqual({
      scheduled: ['app'],
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(publisher.calls.slice(2)).toEqual(['app']);
    await expect(daemon.control.push({ sources: ['nope'], wait: false })).rejects.toMatchObject({
      code: 'source-not-found',
    });
    await expect(daemon.control.reconcile({ sources: ['nope'], wait: false })).rejects.toMatchObject({
      code: 'source-not-found',
    });
    // The error points at commands that exist (issue 9: there is no "ksail-fluxd sources").
    const error = await daemon.control
      .push({ sources: ['nope'], wait: false })
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toContain('the daemon watches: app, infra');
    expect((error as Error).message).toContain('"ksail-fluxd status" lists them');
  });

  it('a daemon refused at start-up does not log "daemon stopped" (its error comes alone)', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', format: 'json', isTty: false, stream });
    harness = makeHarness(makeConfig(['app']), {
      logger,
      startControlServer: () =>
        Promise.reject(
          new KsailError('daemon-already-running', 'another ksail-fluxd daemon is already listening'),
        ),
    });
    await expect(harness.daemon.start()).rejects.toMatchObject({ code: 'daemon-already-running' });
    await harness.daemon.close();
    await logger.flush();
    const messages = text
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).not.toContain('daemon stopped');
    expect(messages).not.toContain('daemon started');
  });

  it('keeps going when the registry cannot be ensured at start, and pushes once it answers', async () => {
    harness = makeHarness(makeConfig(['app']), {
      ensureRegistry: () => Promise.reject(new KsailError('runtime-unavailable', 'Docker is not running')),
    });
    const { publisher, daemon } = harness;
    publisher.failWith = () => new KsailError('registry-unreachable', 'registry does not answer');
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(daemon.control.status().registry).toMatchObject({ status: 'Error', endpoint: 'localhost:5000' });
    publisher.failWith = undefined;
    await vi.advanceTimersByTimeAsync(2000);
    expect(publisher.pushed).toHaveLength(1);
    expect(daemon.control.status().registry.status).toBe('Running');
  });

  it('close is idempotent and waits for the push in flight', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { publisher, daemon } = harness;
    publisher.hold();
    await daemon.start();
    let closed = false;
    const first = daemon.close().then(() => (closed = true));
    const second = daemon.close();
    await vi.advanceTimersByTimeAsync(1000);
    expect(closed).toBe(false);
    publisher.release();
    await Promise.all([first, second]);
    expect(closed).toBe(true);
  });
});

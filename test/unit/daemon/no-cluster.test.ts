import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatStatus } from '../../../src/cli/status.js';
import { KsailError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { makeConfig, makeHarness, type Harness } from './fakes.js';

let harness: Harness | undefined;
let logs: { level: string; message: string; code?: string }[] = [];

const start = async (raw: Record<string, unknown>, failure?: Error) => {
  const stream = new PassThrough();
  logs = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line));
  });
  const logger = createLogger({ level: 'debug', format: 'json', isTty: false, stream });
  harness = makeHarness(makeConfig(['app'], raw), { logger });
  harness.flux.failure = failure;
  await harness.daemon.start();
  await vi.advanceTimersByTimeAsync(0);
  return harness;
};

const noKubeconfig = () =>
  new KsailError('cluster-not-configured', 'no kubeconfig found (looked at /home/me/.kube/config)');

/** Issue 9, §1.4 and §2: the daemon with no cluster, and with a cluster it does not use. */
describe('the daemon without a cluster', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('says "no cluster" once at warn, then at debug, and status shows that tags are not patched', async () => {
    const { daemon } = await start({}, noKubeconfig());
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    const errors = logs.filter((line) => line.message === 'daemon error');
    expect(errors.length).toBeGreaterThan(3);
    expect(errors.map((line) => line.level)).toEqual(['warn', ...errors.slice(1).map(() => 'debug')]);
    expect(logs.filter((line) => line.level === 'error')).toEqual([]);
    const status = daemon.control.status();
    expect(status.cluster).toMatchObject({ reachable: false, state: 'not-configured' });
    expect(formatStatus(status).find((line) => line.startsWith('cluster'))).toMatch(
      /^cluster\s+no cluster: tags not patched \(no kubeconfig found/,
    );
  });

  it('refuses a reconcile at once, with a coded error that says why', async () => {
    const { daemon } = await start({ flux: { mode: 'Manual' } }, noKubeconfig());
    const error = await daemon.control
      .reconcile({ sources: [], wait: true })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'cluster-not-configured' });
    expect((error as Error).message).toContain(
      'cannot reconcile: no cluster is configured (no kubeconfig found',
    );
  });

  it('answers a wait within flux.reconcileTimeout when the cluster does not answer', async () => {
    const { daemon, flux } = await start({ flux: { mode: 'Manual', reconcileTimeout: '30s' } });
    flux.reachable = false;
    let settled: unknown;
    const waiting = daemon.control.reconcile({ sources: ['app'], wait: true }).then(
      () => (settled = 'resolved'),
      (error: unknown) => (settled = error),
    );
    await vi.advanceTimersByTimeAsync(30_000);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(5_000);
    await waiting;
    expect(settled).toMatchObject({ code: 'reconcile-timeout' });
    expect((settled as Error).message).toMatch(
      /request req-\d+ \(app\) is still (pending|running) after 35 s/,
    );
    expect((settled as Error).message).toContain('the cluster does not answer');
  });

  it('status says the cluster is not used, not "reachable", with gitOpsEngine Kubectl', async () => {
    const { daemon } = await start({ gitOpsEngine: 'Kubectl' });
    const status = daemon.control.status();
    expect(status.cluster).toMatchObject({ state: 'not-used' });
    const line = formatStatus(status).find((text) => text.startsWith('cluster')) ?? '';
    expect(line).toContain('not used (gitOpsEngine is not Flux): tags not patched');
    expect(line).not.toContain('reachable');
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KsailError } from '../../../src/errors.js';
import type { FluxDriver } from '../../../src/daemon/cluster-sync/flux-driver-types.js';
import type { VersionInfo } from '../../../src/registry/versions.js';
import { makeConfig, makeHarness, type Harness } from './fakes.js';

/** What the dashboard reads from the daemon's control (issue #12): timings, Flux's verdict, the version list. */
let harness: Harness | undefined;

describe('the status and versions the dashboard shows', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('times each save to its push, its tag patch and its apply, and reports what Flux applied', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { daemon, publisher, watchers, flux } = harness;
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    // The start-up push has no save: it is not timed from one.
    expect(daemon.control.status().sources[0]?.timings).toEqual([
      expect.not.objectContaining({ savedAt: expect.anything() }),
    ]);
    let release!: () => void;
    flux.gate = new Promise((resolve) => (release = resolve));
    publisher.content.set('app', 'v2');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    await vi.advanceTimersByTimeAsync(1000);
    release();
    await vi.advanceTimersByTimeAsync(0);
    const source = daemon.control.status().sources[0]!;
    const timing = source.timings?.at(-1);
    expect(timing).toMatchObject({ version: '1.0.1', toPushMs: 50, toPatchMs: 50, toApplyMs: 1250 });
    expect(Date.parse(timing!.pushedAt) - Date.parse(timing!.savedAt!)).toBe(50);
    expect(source.appliedRevision).toBe('1.0.1@sha256:m-1.0.1');
    expect(source.lastReconcile).toMatchObject({ outcome: 'succeeded', revision: '1.0.1@sha256:m-1.0.1' });
  });

  it('shows the last failure with Flux message, and the last applied revision from before it', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { daemon, publisher, watchers, flux } = harness;
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    flux.reconcileError = new KsailError(
      'reconcile-failed',
      'Kustomization/flux-system/app: BuildFailed: kustomize build failed',
    );
    publisher.content.set('app', 'v2');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    const source = daemon.control.status().sources[0]!;
    expect(source.lastReconcile).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining('BuildFailed: kustomize build failed'),
    });
    expect(source.appliedRevision).toBe('1.0.0@sha256:m-1.0.0');
  });

  it('lists the versions newest first and marks the ones prune would keep: the highest and the one in use', async () => {
    const config = makeConfig(['app']);
    config.sources[0]!.keep = 2;
    const listed: VersionInfo[] = ['1.0.3', '1.0.2', '1.0.1', '1.0.0'].map((version) => ({
      version,
      digest: `sha256:m-${version}`,
      created: '2025-01-01T00:00:00Z',
      revision: undefined,
    }));
    const asked: string[] = [];
    harness = makeHarness(config, {
      listVersions: (repository) => {
        asked.push(repository);
        return Promise.resolve(listed);
      },
    });
    await harness.daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    // The daemon pushed and applied 1.0.0 (the fake registry is empty), so prune keeps it beside the two highest.
    const view = await harness.daemon.control.versions('app');
    expect(asked).toEqual(['test/app']);
    expect(view.keep).toBe(2);
    expect(view.versions.map((v) => [v.version, v.kept, v.inUse])).toEqual([
      ['1.0.3', true, false],
      ['1.0.2', true, false],
      ['1.0.1', false, false],
      ['1.0.0', true, true],
    ]);
    await expect(harness.daemon.control.versions('nope')).rejects.toMatchObject({ code: 'source-not-found' });
  });

  it('reads what is in use from the cluster when it answers, as prune does, and shows what Flux applied', async () => {
    const config = makeConfig(['app']);
    config.sources[0]!.keep = 1;
    const listed: VersionInfo[] = ['1.0.3', '1.0.2', '1.0.1', '1.0.0'].map((version) => ({
      version,
      digest: `sha256:m-${version}`,
      created: undefined,
      revision: undefined,
    }));
    harness = makeHarness(config, { listVersions: () => Promise.resolve(listed) });
    const flux: FluxDriver = harness.flux;
    flux.observe = () =>
      Promise.resolve({
        tag: '1.0.2',
        artifactRevision: '1.0.2@sha256:m-1.0.2',
        appliedRevision: '1.0.1@sha256:m-1.0.1',
      });
    await harness.daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    const view = await harness.daemon.control.versions('app');
    expect(view.cluster).toEqual({ tag: '1.0.2', appliedRevision: '1.0.1@sha256:m-1.0.1' });
    expect(view.versions.map((v) => [v.version, v.kept, v.inUse])).toEqual([
      ['1.0.3', true, false],
      ['1.0.2', true, true],
      ['1.0.1', true, true],
      ['1.0.0', false, false],
    ]);
    flux.observe = () => Promise.reject(new KsailError('cluster-unreachable', 'the cluster does not answer'));
    expect(await harness.daemon.control.versions('app')).toMatchObject({
      clusterUnknown: 'the cluster does not answer',
    });
  });

  it('says how to turn the dashboard on when it is off', () => {
    harness = makeHarness(makeConfig(['app']));
    expect(() => harness!.daemon.control.ui()).toThrow(expect.objectContaining({ code: 'ui-disabled' }));
  });
});

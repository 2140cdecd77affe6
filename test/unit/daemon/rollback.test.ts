import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeConfig, makeHarness, type Harness } from './fakes.js';

let harness: Harness | undefined;

/**
 * The daemon's side of `ksail-fluxd rollback`: the tag stays where the rollback put it while the content is
 * unchanged (start-up, reload, resync), status says so, and the next real push moves the tag on.
 */
describe('the daemon and a rolled-back source', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('keeps a rolled-back tag at start-up while the content is unchanged, and a push moves it on', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { publisher, flux, watchers, daemon } = harness;
    publisher.seed('app', 'deployed', 1);
    // What a rollback left in the cluster before this daemon started.
    flux.rolledBack = { version: '1.0.0', latest: '1.0.1' };
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(flux.moveOptions[0]).toMatchObject({ keepRollback: true });
    expect(daemon.control.status().sources[0]).toMatchObject({
      lastVersion: '1.0.1',
      rolledBack: { version: '1.0.0', latest: '1.0.1' },
    });
    expect(harness.ofType('patch').at(-1)?.data).toMatchObject({ tag: '1.0.0', rolledBackFrom: '1.0.1' });

    publisher.content.set('app', 'edited');
    watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(flux.patched).toEqual([{ source: 'app', version: '1.0.2' }]);
    expect(daemon.control.status().sources[0]?.rolledBack).toBeUndefined();
  });

  it('a source whose content changed while the daemon was down ends the rollback at start-up', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { flux, daemon } = harness;
    flux.rolledBack = { version: '0.9.0', latest: '0.9.1' };
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(flux.moveOptions[0]).toMatchObject({ keepRollback: false });
    expect(daemon.control.status().sources[0]?.rolledBack).toBeUndefined();
  });

  it('rolls back through the control API and shows it in status', async () => {
    harness = makeHarness(makeConfig(['app']));
    const { flux, daemon } = harness;
    await daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    await expect(daemon.control.rollback('app', {})).resolves.toMatchObject({ to: '1.0.0' });
    expect(flux.rollbacks).toEqual([{ source: 'app', version: undefined }]);
    expect(daemon.control.status().sources[0]?.rolledBack).toEqual({ version: '1.0.0', latest: '1.0.1' });
    await expect(daemon.control.rollback('nope', {})).rejects.toMatchObject({ code: 'source-not-found' });
  });
});

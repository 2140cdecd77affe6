import { afterEach, describe, expect, it } from 'vitest';
import { makeConfig, makeHarness, type Harness } from './fakes.js';

let harness: Harness | undefined;

describe('the overlap check at start-up', () => {
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
  });

  it('runs once at start with Flux, and not with Kubectl', async () => {
    const checked: string[][] = [];
    const checkOverlaps = (config: { sources: { name: string }[] }) => {
      checked.push(config.sources.map((source) => source.name));
      return Promise.resolve([]);
    };
    harness = makeHarness(makeConfig(['app']), { checkOverlaps });
    await harness.daemon.start();
    expect(checked).toEqual([['app']]);
    await harness.daemon.close();

    harness = makeHarness(makeConfig(['app'], { gitOpsEngine: 'Kubectl' }), { checkOverlaps });
    await harness.daemon.start();
    expect(checked).toEqual([['app']]);
  });
});

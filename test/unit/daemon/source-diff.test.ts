import { describe, expect, it } from 'vitest';
import { diffSources, reloadedConfig } from '../../../src/daemon/source-diff.js';
import { makeConfig } from './fakes.js';

describe('config reload', () => {
  it('diffs sources by name and settings; a watch change recreates them all', () => {
    const before = makeConfig(['app', 'infra']);
    const after = makeConfig(['app', 'extra'], { watch: { quietPeriod: '1s' } });
    expect(diffSources(before, after)).toEqual({ added: ['extra'], removed: ['infra'], changed: ['app'] });
    expect(diffSources(before, makeConfig(['app', 'infra']))).toEqual({
      added: [],
      removed: [],
      changed: [],
    });
  });

  it('takes sources, mode and log level from the new config and keeps the settings of the running adapters', () => {
    const running = makeConfig(['app'], { registryPort: 5050, cluster: { context: 'kind-a' } });
    const next = makeConfig(['app', 'extra'], {
      registryPort: 5999,
      cluster: { context: 'kind-b' },
      flux: { mode: 'Manual', concurrency: 4 },
      log: { level: 'debug', format: 'json' },
    });
    const { config, needsRestart } = reloadedConfig(running, next);
    expect(needsRestart).toEqual(['registryPort', 'cluster', 'flux.concurrency', 'log.format']);
    expect(config).toMatchObject({
      registryPort: 5050,
      cluster: { context: 'kind-a' },
      flux: { mode: 'Manual', concurrency: 2 },
      log: { level: 'debug', format: 'auto' },
    });
    expect(config.sources.map((source) => source.name)).toEqual(['app', 'extra']);
    expect(next.registryPort).toBe(5999); // the loaded config is not changed
  });
});

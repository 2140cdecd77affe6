import { describe, expect, it } from 'vitest';
import { subcommandOf } from '../../../src/cli/program.js';

describe('subcommandOf', () => {
  it.each([
    [['start'], 'start'],
    [['-c', 'x.yaml', 'start', '--mode', 'manual'], 'start'],
    [['--config', 'start', 'push'], 'push'],
    [['--log-level', 'debug', '--log-format', 'json', 'push', 'app'], 'push'],
    [['--config=x.yaml', 'start'], 'start'],
    [['--version'], undefined],
  ])('finds the subcommand of %j', (argv, expected) => {
    expect(subcommandOf(argv)).toBe(expected);
  });
});

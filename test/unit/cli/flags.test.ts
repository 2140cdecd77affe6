import { afterEach, describe, expect, it } from 'vitest';
import { packageVersion } from '../../../src/cli/program.js';
import { runKsail } from '../../support/run-cli.js';
import { tempDirs } from '../../support/temp-dirs.js';

const dirs = tempDirs('ksail-fluxd-flags-');
afterEach(() => dirs.cleanup());

/** Issue 9, §1.2: a flag goes to the command it is written after, and is never swallowed silently. */
describe('command-line flags', () => {
  it('prints the program version for --version before any command', async () => {
    const result = await runKsail(['--version'], { cwd: await dirs.make() });
    expect(result).toMatchObject({ code: 0, stdout: `${packageVersion()}\n` });
  });

  it.each([
    [['push', '--version', '2.0.0']],
    [['push', '--version=2.0.0']],
    [['push', 'app', '--version', '2.0.0']],
    [['push', '--version', '2.0.0', 'app']],
  ])('gives %j to push, not to the program', async (argv) => {
    // No config here: push must get as far as the config (exit 2), not print the program version (exit 0).
    const result = await runKsail(argv, { cwd: await dirs.make() });
    expect(result.stdout).not.toContain(packageVersion());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no sources are configured');
  });

  it('refuses an option the command does not have', async () => {
    const result = await runKsail(['status', '--version'], { cwd: await dirs.make() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--version'");
    expect(result.stdout).toBe('');
  });

  it('refuses --version without a value', async () => {
    const result = await runKsail(['push', 'app', '--version'], { cwd: await dirs.make() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--version <version>' argument missing");
  });

  it('takes the global flags before or after the command', async () => {
    const dir = await dirs.make();
    for (const argv of [
      ['--config', 'missing.yaml', 'versions', 'app'],
      ['versions', 'app', '--config', 'missing.yaml'],
      ['registry', 'status', '--config=missing.yaml'],
    ]) {
      const result = await runKsail(argv, { cwd: dir });
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toContain('missing.yaml');
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerApplyCommand } from '../../src/cli/apply.js';
import { registerReconcileCommand } from '../../src/cli/reconcile.js';
import { systemClock } from '../../src/clock.js';
import { afterPush } from '../../src/publish/after-push.js';
import { runKsail } from '../support/run-cli.js';
import { appliedMessage, logger, startFluxFixture, type FluxFixture } from './flux-support.js';

/** Runs `ksail-fluxd <argv>` in-process with just the Flux commands registered. */
const ksail = (fixture: FluxFixture, argv: string[]) =>
  runKsail(['--config', fixture.project.configPath, '--log-level', 'error', ...argv], {
    cwd: fixture.project.dir,
    registrars: [registerApplyCommand, registerReconcileCommand],
  });

describe('ksail-fluxd apply / reconcile (CLI against the fake cluster)', () => {
  let fixture: FluxFixture;
  beforeEach(async () => {
    fixture = await startFluxFixture();
  });
  afterEach(() => fixture.close());

  it('apply uses the highest pushed version and prints one line per object', async () => {
    const none = await ksail(fixture, ['apply']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/^OCIRepository flux-system\/app skipped: no version of .* is known/m);

    await fixture.push('1.0.0', 'one');
    await fixture.push('1.2.0', 'two');
    const first = await ksail(fixture, ['apply']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(
      'OCIRepository flux-system/app created\nKustomization flux-system/app created\n',
    );
    expect(
      fixture.cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'flux-system', 'app'),
    ).toMatchObject({
      spec: { ref: { tag: '1.2.0' } },
    });
    const second = await ksail(fixture, ['apply', '--json']);
    expect(JSON.parse(second.stdout)).toMatchObject({
      results: [
        { kind: 'OCIRepository', action: 'unchanged' },
        { kind: 'Kustomization', action: 'unchanged' },
      ],
    });
  });

  it("afterPush patches the tag, reconcile prints the revision; a fetch failure exits 1 with Flux's message", async () => {
    await fixture.push('1.0.0', 'one');
    expect((await ksail(fixture, ['apply'])).code).toBe(0);
    const pushed = await fixture.push('1.0.1', 'two');
    const patched = await afterPush({
      config: fixture.config,
      source: fixture.config.sources[0]!,
      version: '1.0.1',
      digest: pushed.manifestDigest,
      logger,
      clock: systemClock,
      env: {},
    });
    expect(patched).toEqual({ patched: true, outcome: 'patched', revision: pushed.revision });

    const ok = await ksail(fixture, ['reconcile', 'app']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(
        `^app  reconciled  ${pushed.revision.replace(/[.]/g, '\\.')}  \\(source .*, kustomization .*\\)\\n$`,
      ),
    );
    expect(appliedMessage(fixture.cluster)).toBe('two');

    fixture.cluster.faults.failRegistryFetch(true, 'dial tcp: connection refused');
    const failed = await ksail(fixture, ['reconcile', '--timeout', '1m', '--json']);
    expect(failed.code).toBe(1);
    expect(failed.elapsedMs).toBeLessThan(10_000);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      results: [
        {
          ok: false,
          source: 'app',
          error: { code: 'reconcile-failed', message: expect.stringContaining('OCIArtifactPullFailed') },
        },
      ],
    });
    expect(failed.stderr).toContain('1 of 1 source did not reconcile');
  });

  it('rejects a bad --timeout as a usage error', async () => {
    const result = await ksail(fixture, ['reconcile', '--timeout', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--timeout "soon" is not a positive duration');
  });
});

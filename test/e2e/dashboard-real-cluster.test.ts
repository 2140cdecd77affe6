import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UiView } from '../../src/daemon/control/control-types.js';
import { browserMissing, launchBrowser } from '../support/browser.js';
import { configMap } from '../support/project.js';
import { describeRealCluster } from '../support/real-cluster/index.js';
import { realClusterNamespaces, type RealClusterView } from '../support/real-cluster/view.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  ROOT,
  runCli,
  startDaemon,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';

/**
 * The dashboard's Manual-mode trigger on real Flux (issue #12): a save is pushed and held; clicking Reconcile in
 * chromium releases it, and the ConfigMap in the real API server holds the new content; Roll back on a listed
 * version moves the cluster back to it. With
 * KSAIL_FLUXD_SCREENSHOT=1 the run also writes docs/dashboard.png (the README's picture).
 */
const REAL_WAIT = { timeout: 30_000, interval: 100 } as const;
const missing = browserMissing();
const describeBoth = missing
  ? (name: string) => describe.skip(`${name} (skipped: ${missing})`, () => undefined)
  : describeRealCluster;

describeBoth('the dashboard on real Flux, Manual mode (e2e)', (cluster) => {
  const cleanup = createCleanup();
  let project: DaemonProject;
  let daemon: DaemonProcess;
  let view: RealClusterView;
  let target: string;
  let browser: Browser;
  let page: Page;

  const card = () => page.locator('section[data-source="app"]');
  const field = (label: string) => card().locator('.field', { hasText: label }).locator('dd');
  const message = async () => (await view.configMapData(target, 'hello'))?.message;

  beforeAll(async () => {
    await ensureBuilt();
    const namespaces = await realClusterNamespaces(cluster);
    const fluxNamespace = namespaces.fluxNamespace;
    ({ view, target } = namespaces);
    cleanup.add(() => view.deleteFluxObjects());
    project = await createDaemonProject({
      registryPort: registryPort(),
      cluster,
      config: {
        flux: { namespace: fluxNamespace, reconcileTimeout: '30s', mode: 'Manual' },
        sources: [{ name: 'app', path: './app', targetNamespace: target, keep: 3 }],
        ui: { port: 0 },
      },
    });
    cleanup.add(() => project.remove());
    daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    const printed = await runCli(['ui', '--no-open', '--json', '--config', project.configPath], {
      dir: project.dir,
    });
    expect(printed.exitCode, printed.stderr).toBe(0);
    browser = await launchBrowser();
    cleanup.add(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(UiView.parse(JSON.parse(printed.stdout)).url);
  });
  afterAll(() => cleanup.run());

  it('clicking Reconcile applies the held version on the cluster', async () => {
    await vi.waitFor(async () => expect(await message()).toBe('one'), REAL_WAIT);
    await expect.poll(() => field('Version').textContent(), REAL_WAIT).toBe('1.0.0');
    expect(await page.getByTestId('mode').textContent()).toBe('Manual');

    for (const text of ['two', 'three']) {
      const from = daemon.mark();
      await project.write('configmap.yaml', configMap('hello', { message: text }));
      await daemon.waitForEvent(isEvent('patch', { source: 'app' }), from);
    }
    // Held: pushed and patched, shown as pending, and not applied.
    await expect.poll(() => field('Version').textContent(), REAL_WAIT).toBe('1.0.2');
    await expect.poll(() => field('Pending').textContent(), REAL_WAIT).not.toBe('none');
    expect(await message()).toBe('one');

    const from = daemon.mark();
    await card().getByRole('button', { name: 'Reconcile' }).click();
    const finished = await daemon.waitForEvent(
      isEvent('reconcile-finished', { source: 'app' }),
      from,
      REAL_WAIT.timeout,
    );
    expect(finished.data.outcome).toBe('succeeded');
    expect(await message()).toBe('three');
    expect(await view.lastAppliedRevision('app')).toMatch(/^1\.0\.2@sha256:/);
    await expect.poll(() => field('Applied').textContent(), REAL_WAIT).toMatch(/^1\.0\.2@/);
    await expect
      .poll(() => card().getByTestId('last-reconcile').textContent(), REAL_WAIT)
      .toContain('succeeded');
    await expect.poll(() => field('Pending').textContent(), REAL_WAIT).toBe('none');
  });

  it('rolls back to a listed version through the rollback endpoint', async () => {
    await card().locator('tr[data-version="1.0.0"]').getByRole('button', { name: 'Roll back' }).click();
    await expect
      .poll(() => page.getByTestId('notice').textContent(), REAL_WAIT)
      .toBe('Rolled back app to 1.0.0');
    expect(await message()).toBe('one');
    expect(await view.lastAppliedRevision('app')).toMatch(/^1\.0\.0@sha256:/);
    await expect.poll(() => card().getByTestId('rolled-back').textContent(), REAL_WAIT).toContain('1.0.0');
    await expect.poll(() => field('Applied').textContent(), REAL_WAIT).toMatch(/^1\.0\.0@/);

    if (process.env.KSAIL_FLUXD_SCREENSHOT) {
      // A few more versions, one applied, so the picture shows the history and every segment of the chart.
      await project.write('configmap.yaml', configMap('hello', { message: 'four' }));
      await expect.poll(() => field('Version').textContent(), REAL_WAIT).toBe('1.0.3');
      await page.getByRole('button', { name: 'Reconcile all' }).click();
      await vi.waitFor(async () => expect(await message()).toBe('four'), REAL_WAIT);
      await expect.poll(() => field('Applied').textContent(), REAL_WAIT).toMatch(/^1\.0\.3@/);
      await project.write('configmap.yaml', configMap('hello', { message: 'five' }));
      await expect.poll(() => field('Pending').textContent(), REAL_WAIT).not.toBe('none');
      await page.screenshot({ path: join(ROOT, 'docs/dashboard.png'), fullPage: true });
    }
  });
});

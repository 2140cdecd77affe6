import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UiView } from '../../src/daemon/control/control-types.js';
import { browserMissing, launchBrowser } from '../support/browser.js';
import { configMap } from '../support/project.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  runCli,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';

/**
 * The dashboard in a real browser (issue #12): Debian's chromium through playwright-core, the built daemon as a
 * child process with `--ui 0`, its link from `ksail-fluxd ui`, the shared real registry.
 */
const missing = browserMissing();
const describeBrowser = missing ? describe.skip : describe;

describeBrowser(`the dashboard in chromium (e2e)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const cleanup = createCleanup();
  let project: DaemonProject;
  let daemon: DaemonProcess;
  let browser: Browser;
  let page: Page;
  let url: string;

  const card = () => page.locator('section[data-source="app"]');
  const field = (label: string) => card().locator('.field', { hasText: label }).locator('dd');

  beforeAll(async () => {
    await ensureBuilt();
    project = await createDaemonProject({
      registryPort: registryPort(),
      config: { gitOpsEngine: 'Kubectl', ui: { port: 0 } },
    });
    cleanup.add(() => project.remove());
    daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    const printed = await runCli(['ui', '--no-open', '--json', '--config', project.configPath], {
      dir: project.dir,
    });
    expect(printed.exitCode, printed.stderr).toBe(0);
    url = UiView.parse(JSON.parse(printed.stdout)).url;
    browser = await launchBrowser();
    cleanup.add(() => browser.close());
    page = await browser.newPage();
  });
  afterAll(() => cleanup.run());

  it('loads with the token from "ksail-fluxd ui", and strips it from the address', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(new URL('/', url).href);
    await expect.poll(() => field('Version').textContent(), WAIT).toBe('1.0.0');
    await expect.poll(() => page.getByTestId('connection').textContent(), WAIT).toBe('live');
    expect(await page.getByTestId('mode').textContent()).toBe('Automatic');
    expect(await page.getByTestId('health-registry').textContent()).toContain('Running');
  });

  it('refuses without the token', async () => {
    const other = await browser.newPage();
    try {
      const response = await other.goto(new URL('/', url).href);
      expect(response?.status()).toBe(401);
      expect(await other.textContent('body')).toContain('ksail-fluxd ui');
      const api = await other.goto(new URL('/api/v1/status', url).href);
      expect(api?.status()).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('a save shows the new version without a reload', async () => {
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same page'));
    const from = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    const push = await daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
    expect(push.data.version).toBe('1.0.1');
    await expect.poll(() => field('Version').textContent(), WAIT).toBe('1.0.1');
    await expect.poll(() => card().locator('tr[data-version="1.0.1"]').count(), WAIT).toBe(1);
    // The chart has a bar for the save.
    await expect
      .poll(() => card().locator('g.chart-row[data-version="1.0.1"] rect').count(), WAIT)
      .toBeGreaterThan(0);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker)).toBe(
      'same page',
    );
  });

  it('an invalid manifest shows its file and line', async () => {
    const from = daemon.mark();
    await project.write('configmap.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n');
    await daemon.waitForEvent(isEvent('error', { source: 'app', data: { code: 'manifest-invalid' } }), from);
    const problem = card().getByTestId('last-error');
    await expect.poll(() => problem.textContent(), WAIT).toMatch(/configmap\.yaml:\d+:\d+/);
    expect(await card().getByTestId('state').textContent()).toBe('error');
    const fixed = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    await daemon.waitForEvent(isEvent('push', { source: 'app' }), fixed);
    await expect.poll(() => problem.count(), WAIT).toBe(0);
  });

  it('pauses and resumes through the control API', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(async () => (await daemon.status()).paused, WAIT).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(async () => (await daemon.status()).paused, WAIT).toBe(false);
  });
});

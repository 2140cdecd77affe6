import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium (scripts/ci-setup.sh installs it), driven by playwright-core: never a downloaded browser
 * (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 at install). KSAIL_FLUXD_CHROMIUM names another binary.
 */
export const CHROMIUM = process.env.KSAIL_FLUXD_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined. On CI a missing browser fails them instead. */
export const browserMissing = (): string | undefined =>
  existsSync(CHROMIUM) || process.env.CI
    ? undefined
    : `${CHROMIUM} is missing; install it with "apt-get install -y chromium" (scripts/ci-setup.sh does)`;

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });

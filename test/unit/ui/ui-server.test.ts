import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { loadUiAssets } from '../../../src/daemon/ui/ui-assets.js';
import { cookieName } from '../../../src/daemon/ui/ui-guard.js';
import { startUiServer, type UiServer } from '../../../src/daemon/ui/ui-server.js';
import { createLogger } from '../../../src/logger.js';
import { readStream, uiCall } from '../../support/ui-http.js';
import { createFakeControl, type FakeControl } from '../daemon/control-fake.js';

/**
 * The dashboard's security rules (issue #12), over plain HTTP: the token, the Host check (DNS rebinding), the
 * Origin check, no CORS, and assets from a fixed table (no traversal). The assets are a small fixture with a
 * secret file next to them, which no request may reach.
 */
const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuv';
const SECRET = 'the secret next to the assets';

let dir: string;
let fake: FakeControl;
let server: UiServer;
let port: number;
let logged: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kfd-ui-'));
  await mkdir(join(dir, 'ui', 'assets'), { recursive: true });
  await writeFile(join(dir, 'ui', 'index.html'), '<!doctype html><title>ksail-fluxd</title>');
  await writeFile(join(dir, 'ui', 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), SECRET);
  await writeFile(join(dir, 'ui', 'secret.txt.map'), SECRET);
  fake = createFakeControl();
  logged = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  server = await startUiServer({
    port: 0,
    control: fake.control,
    assets: await loadUiAssets(join(dir, 'ui')),
    logger: createLogger({ level: 'debug', format: 'json', isTty: false, stream }),
    clock: systemClock,
    token: TOKEN,
  });
  port = server.port;
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const cookie = (): Record<string, string> => ({ cookie: `${cookieName(port)}=${TOKEN}` });
const origin = (): Record<string, string> => ({ origin: `http://127.0.0.1:${port}` });

describe('the token', () => {
  it('the first URL sets an HttpOnly, SameSite=Strict cookie and redirects to strip the token', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}/?token=${TOKEN}`);
    const response = await uiCall(port, `/?token=${TOKEN}`);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/');
    expect(response.headers['set-cookie']).toEqual([
      `${cookieName(port)}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
    const page = await uiCall(port, '/', { headers: cookie() });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<title>ksail-fluxd</title>');
  });

  it('refuses every path without the cookie, and with a wrong token or cookie', async () => {
    for (const path of ['/', '/index.html', '/assets/app-1234.js', '/api/v1/status', '/api/events']) {
      const response = await uiCall(port, path);
      expect(response.status, path).toBe(401);
      expect(response.body).not.toContain('console.log');
    }
    const wrongLink = await uiCall(port, `/?token=${TOKEN.slice(0, -1)}x`);
    expect(wrongLink.status).toBe(403);
    expect(wrongLink.headers['set-cookie']).toBeUndefined();
    const wrongCookie = await uiCall(port, '/api/v1/status', {
      headers: { cookie: `${cookieName(port)}=${TOKEN}x` },
    });
    expect(wrongCookie.status).toBe(401);
    // Another daemon's cookie (another port) is not ours.
    const otherPort = await uiCall(port, '/', { headers: { cookie: `${cookieName(port + 1)}=${TOKEN}` } });
    expect(otherPort.status).toBe(401);
  });

  it('is never logged', async () => {
    await uiCall(port, `/?token=${TOKEN}`);
    await uiCall(port, `/?token=wrong`);
    await uiCall(port, '/api/v1/nothing', { headers: cookie() });
    await uiCall(port, '/api/v1/reconcile', {
      method: 'POST',
      headers: { ...cookie(), ...origin(), 'content-type': 'application/json' },
      body: '{"sources":["nope"]}',
    });
    expect(logged).toContain('dashboard listening');
    expect(logged).not.toContain(TOKEN);
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('refuses any name but 127.0.0.1 and localhost with our port, even with the cookie', async () => {
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
      `localhost.evil:${port}`,
      `[::1]:${port}`,
    ]) {
      const response = await uiCall(port, '/api/v1/status', { headers: { ...cookie(), host } });
      expect(response.status, host).toBe(421);
      expect(response.body).not.toContain('"sources"');
    }
    const rebound = await uiCall(port, `/?token=${TOKEN}`, { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(421);
    expect(rebound.headers['set-cookie']).toBeUndefined();
    const local = await uiCall(port, '/api/v1/status', {
      headers: { ...cookie(), host: `localhost:${port}` },
    });
    expect(local.status).toBe(200);
  });
});

describe('state-changing requests', () => {
  it('need our own Origin: a foreign or missing one is refused and nothing changes', async () => {
    for (const headers of <Record<string, string>[]>[
      { origin: 'http://evil.example' },
      { origin: `http://127.0.0.1:${port + 1}` },
      {},
    ]) {
      const response = await uiCall(port, '/api/v1/pause', {
        method: 'POST',
        headers: { ...cookie(), ...headers },
      });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(fake.control.status().paused).toBe(false);
    }
    const reconcile = await uiCall(port, '/api/v1/reconcile', {
      method: 'POST',
      headers: { ...cookie(), origin: 'null', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(reconcile.status).toBe(403);
    expect(fake.reconcileCalls).toEqual([]);
    const ours = await uiCall(port, '/api/v1/pause', {
      method: 'POST',
      headers: { ...cookie(), ...origin() },
    });
    expect(ours.status).toBe(200);
    expect(fake.control.status().paused).toBe(true);
  });

  it('refuses a request a browser marks as cross-site, and answers no CORS preflight', async () => {
    const crossSite = await uiCall(port, '/api/v1/status', {
      headers: { ...cookie(), 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const preflight = await uiCall(port, '/api/v1/reconcile', {
      method: 'OPTIONS',
      headers: { ...cookie(), origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    for (const response of [crossSite, preflight, await uiCall(port, '/', { headers: cookie() })]) {
      expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
  });
});

describe('assets', () => {
  it('serve only the files of the table: no path reaches the secret next to them', async () => {
    const paths = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..\\secret.txt',
      '//secret.txt',
      `/${join(dir, 'secret.txt')}`,
      '/secret.txt.map',
      '/assets/app-1234.js%00.html',
      '/assets/',
    ];
    for (const path of paths) {
      const response = await uiCall(port, path, { headers: cookie() });
      expect(response.status, path).toBe(404);
      expect(response.body).not.toContain(SECRET);
    }
    const asset = await uiCall(port, '/assets/app-1234.js', { headers: cookie() });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('come with a strict Content-Security-Policy and no-referrer', async () => {
    const page = await uiCall(port, '/', { headers: cookie() });
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('the API and the event stream', () => {
  it('/api is the control API: the same handler table answers', async () => {
    const status = await uiCall(port, '/api/v1/status', { headers: cookie() });
    expect(JSON.parse(status.body)).toEqual(fake.control.status());
    const reconcile = await uiCall(port, '/api/v1/reconcile', {
      method: 'POST',
      headers: { ...cookie(), ...origin(), 'content-type': 'application/json' },
      body: '{"sources":["web"]}',
    });
    expect(reconcile.status).toBe(200);
    expect(fake.reconcileCalls).toEqual([{ sources: ['web'], wait: false }]);
    const unknown = await uiCall(port, '/api/v1/sources/nope/versions', { headers: cookie() });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'source-not-found' } });
  });

  it('streams a status snapshot, then the bus events and a fresh snapshot, as Server-Sent Events', async () => {
    const stream = readStream(
      port,
      '/api/events',
      cookie(),
      (text) => text.split('event: status').length > 2,
    );
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(1));
    fake.emit({ type: 'push', at: '2025-01-01T10:00:00.000Z', source: 'web', data: { version: '1.0.4' } });
    const { headers, text } = await stream;
    expect(headers['content-type']).toMatch(/^text\/event-stream/);
    const messages = text.split('\n\n').filter((m) => m.startsWith('event:'));
    expect(messages[0]).toMatch(/^event: status\ndata: \{/);
    expect(messages[1]).toBe(
      `event: daemon\ndata: ${JSON.stringify({ type: 'push', at: '2025-01-01T10:00:00.000Z', source: 'web', data: { version: '1.0.4' } })}`,
    );
    expect(messages[2]).toMatch(/^event: status\n/);
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(0));
  });
});

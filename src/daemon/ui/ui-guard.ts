import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The dashboard's request checks (issue #12), pure so that each rule is tested on its own:
 * - `Host` must name the loopback address or localhost with our port: a page on another site whose name was
 *   re-pointed at 127.0.0.1 (DNS rebinding) sends its own name and is refused;
 * - every request carries the token in an HttpOnly, SameSite=Strict cookie (set from the first URL);
 * - a state-changing request must come from our own origin (`Origin`), and no request may come from another site
 *   (`Sec-Fetch-Site`); no CORS header is ever sent.
 */

export const newUiToken = (): string => randomBytes(32).toString('base64url');

/** Cookies ignore ports, so each daemon's dashboard (one per port) has its own cookie name. */
export const cookieName = (port: number): string => `ksail-fluxd-ui-${port}`;

export const sessionCookie = (port: number, token: string): string =>
  `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;

/** The names this dashboard answers to: it listens on 127.0.0.1 only. */
const allowedHosts = (port: number): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

export const hostAllowed = (host: string | undefined, port: number): boolean =>
  host !== undefined && allowedHosts(port).includes(host.toLowerCase());

export const originAllowed = (origin: string | undefined, port: number): boolean =>
  origin !== undefined && allowedHosts(port).some((host) => origin.toLowerCase() === `http://${host}`);

/** A browser's word that the request came from another site (absent in older browsers and in curl). */
export const crossSite = (headers: IncomingHttpHeaders): boolean => {
  const site = headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
};

/** Compares in constant time, so the token cannot be guessed byte by byte from response times. */
export const tokenMatches = (given: string | undefined, token: string): boolean => {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** The value of our cookie in a `Cookie` header. */
export const cookieToken = (header: string | undefined, port: number): string | undefined => {
  if (header === undefined) return undefined;
  const name = cookieName(port);
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
};

/**
 * Strict CSP: only our own files (no inline script or style, no eval, no third party), no frames, no plugins;
 * `connect-src 'self'` lets the page reach its API and event stream only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** On every response. `no-referrer`: the first URL carries the token. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Real headless chromium (Debian's package) for browser tests, driven by playwright-core; never a
 * downloaded browser. Also a tiny site server that serves test pages.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Fails with a clear message rather than a playwright stack when the package is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} not found: install Debian's chromium (scripts/setup.sh does: apt-get install chromium)`);
  }
}

/**
 * Headless chromium with nothing that phones home. playwright gives every launch a fresh temporary
 * profile (its own --user-data-dir, removed on close); it refuses --user-data-dir in `args`.
 */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface SiteServer {
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `pages[path]` as HTML (the query string is ignored); 404 otherwise. */
export async function startSite(pages: Record<string, () => string>, port = 0): Promise<SiteServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const page = pages[path];
    if (!page) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A landing page with a phone number in text and in a tel: link, and the snippet tag. */
export function landingPage(opts: { scriptSrc: string; key: string; api?: string; number?: string }): string {
  const n = opts.number ?? '(555) 123-0000';
  const api = opts.api ? ` data-api="${opts.api}"` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>Acme Plumbing</title>
<script async src="${opts.scriptSrc}" data-key="${opts.key}"${api}></script></head>
<body><h1>Acme Plumbing</h1><p id="phone">Call us: ${n}</p>
<p><a id="tel" href="tel:+15551230000">Tap to call</a></p>
<p id="other">Order number 12345678</p>
<div id="later"></div>
<script>setTimeout(function () { document.getElementById('later').innerHTML = '<p id="late">Or text 555-123-0000</p>'; }, 300);</script>
</body></html>`;
}

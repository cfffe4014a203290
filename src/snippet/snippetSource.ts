import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/*
 * The website snippet (dynamic number insertion), served at GET /snippet.js. Plain ES5-level
 * JavaScript kept as a string, so it is the same bytes in `src/` (tsx) and `dist/` (tsc) and needs
 * no bundler; no dependencies. Put on a page as:
 *
 *   <script async src="https://calls.example.com/snippet.js" data-key="pk_..."></script>
 *
 * optional `data-swap="+1 555 123 0000, 555-123-0001"`: swap only these numbers (default: every
 * phone number found); `data-api="https://..."`: the API origin when it is not the script's.
 *
 * What it does: finds phone numbers in the page's text (common formats: (555) 123-4567,
 * 555-123-4567, 555.123.4567, +1 555 123 4567, 1-800-555-1234, +15551234567, +44 20 7946 0958) and
 * `tel:` links; asks POST /public/v1/session for this visitor's number; writes it in the format of
 * each number it replaces, also in content the page adds later; heartbeats while the page is open. Any failure (server down, slow, 4xx,
 * no fetch) leaves the page as it was. With Do Not Track or Global Privacy Control it sends
 * `dnt: true`, stores nothing and does not heartbeat: the API answers the source-level number
 * without creating a visitor session. Text is only ever written through `nodeValue` (never HTML),
 * so nothing the API says can inject markup.
 *
 * The parts below are strings so tests can evaluate the pure ones (`FIND_NUMBERS_JS`,
 * `FORMAT_LIKE_JS`) on their own. String.raw: the regular expressions' backslashes stay as written.
 */

/** `RE` finds candidate numbers; `dig(s)` keeps the digits. A match counts with 10–15 digits. */
export const FIND_NUMBERS_JS = String.raw`
var RE = /(?:(?:\+\d{1,3}|\b1)[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\b\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}\b|\+\d[\d\s.()-]{6,18}\d\b/g;
function dig(s) { return String(s).replace(/\D/g, ''); }
function isNum(m) { var n = dig(m).length; return n >= 10 && n <= 15; }
`;

/**
 * `formatLike(original, e164, display)`: the new number in the shape of the one it replaces — its
 * digits written into the original's separators; an original without the country code gets the
 * national digits; anything else gets `display`.
 */
export const FORMAT_LIKE_JS = String.raw`
function formatLike(o, e164, display) {
var nd = dig(e164), od = dig(o), i = 0;
if (od.length > nd.length || od.length < 7) return display;
nd = nd.slice(nd.length - od.length);
return o.replace(/\d/g, function () { return nd.charAt(i++); });
}
`;

const MAIN_JS = String.raw`
(function (w, d) {
'use strict';
try {
var s = d.currentScript;
if (!s || !w.fetch || !w.JSON) return;
var key = s.getAttribute('data-key');
if (!key) return;
var api = s.getAttribute('data-api') || new URL(s.src, w.location.href).origin;
var only = (s.getAttribute('data-swap') || '').split(',').map(dig).filter(function (x) { return x.length >= 7; });
var nav = w.navigator || {};
var optOut = nav.doNotTrack == '1' || w.doNotTrack == '1' || nav.globalPrivacyControl === true;
var VK = 'callroute_vid', texts = [], links = [], shown = null, disp = null, timer = null, seen = typeof WeakSet == 'function' ? new WeakSet() : null;
var obs = null;
var SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEXTAREA|INPUT|SELECT|OPTION|TEMPLATE)$/;
var wanted = function (m) {
if (!isNum(m)) return false;
if (!only.length) return true;
var g = dig(m);
return only.some(function (t) { return g.length >= t.length ? g.slice(g.length - t.length) == t : t.slice(t.length - g.length) == g; });
};
var store = function (v) {
try {
if (v === undefined) return w.localStorage.getItem(VK);
w.localStorage.setItem(VK, v);
} catch (e) { return null; }
};
var collect = function () {
var tw = d.createTreeWalker(d.body, 4, null), n;
while ((n = tw.nextNode())) {
var p = n.parentNode;
if (!p || SKIP.test(p.nodeName) || p.isContentEditable) continue;
if (seen && seen.has(n)) continue;
RE.lastIndex = 0;
var v = n.nodeValue, hit = false, m;
while ((m = RE.exec(v))) if (wanted(m[0])) { hit = true; break; }
if (hit) { texts.push([n, v]); if (seen) seen.add(n); }
}
var as = d.querySelectorAll('a[href^="tel:"],a[href^="TEL:"]');
for (var i = 0; i < as.length; i++) {
var h = as[i].getAttribute('href');
if ((!seen || !seen.has(as[i])) && wanted(h.slice(4))) { links.push([as[i], h]); if (seen) seen.add(as[i]); }
}
};
var swap = function (num, display) {
collect();
texts.forEach(function (t) {
if (t[2] === num) return;
t[2] = num;
t[0].nodeValue = t[1].replace(RE, function (m) { return wanted(m) ? formatLike(m, num, display) : m; });
});
links.forEach(function (l) { if (l[2] !== num) { l[2] = num; l[0].setAttribute('href', 'tel:' + num); } });
};
var post = function (path, body, cb) {
var ctl = w.AbortController ? new AbortController() : null;
var t = setTimeout(function () { if (ctl) ctl.abort(); }, 5000);
w.fetch(api + path, { method: 'POST', mode: 'cors', credentials: 'omit', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body), signal: ctl ? ctl.signal : undefined })
.then(function (r) { return r.ok ? r.json() : null; })
.then(function (j) { clearTimeout(t); if (j) cb(j); }, function () { clearTimeout(t); });
};
var apply = function (j) {
try {
if (j.visitorId && !optOut) store(j.visitorId);
if (j.number && j.number !== shown) {
shown = j.number;
disp = j.display || j.number;
swap(shown, disp);
// Numbers the page renders later (SPAs, lazy sections): only added nodes, so our own writes never re-trigger it.
if (w.MutationObserver && !obs) { obs = new MutationObserver(function () { try { swap(shown, disp); } catch (e) {} }); obs.observe(d.body, { childList: true, subtree: true }); }
}
if (!timer && j.heartbeatSeconds > 0 && j.visitorId && !optOut) {
timer = setInterval(function () { post('/public/v1/heartbeat', { key: key, visitorId: j.visitorId }, apply); }, j.heartbeatSeconds * 1000);
}
} catch (e) {}
};
var start = function () {
try {
post('/public/v1/session', { key: key, visitorId: optOut ? null : store() || null, page: w.location.href, referrer: d.referrer || null, dnt: optOut }, apply);
} catch (e) {}
};
if (d.readyState == 'loading') d.addEventListener('DOMContentLoaded', start); else start();
} catch (e) {}
})(window, document);
`;

function compact(js: string): string {
  // Safe for this source: no template literals or multi-line strings, no line starting with // but
  // comments, and the line breaks stay (automatic semicolon insertion sees the same code).
  return js
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('//'))
    .join('\n');
}

/** The script served at /snippet.js. */
export const SNIPPET_JS = compact(`${FIND_NUMBERS_JS}\n${FORMAT_LIKE_JS}\n${MAIN_JS}`).replace(
  /^/,
  '/*! callroute number insertion */\n(function(){\n',
) + '\n})();\n';

/** Strong validator for caching. */
export const SNIPPET_ETAG = `"${createHash('sha256').update(SNIPPET_JS).digest('base64url').slice(0, 27)}"`;

/** Bytes served and gzipped (checked by a unit test). */
export function snippetSize(): { bytes: number; gzipBytes: number } {
  return { bytes: Buffer.byteLength(SNIPPET_JS), gzipBytes: gzipSync(SNIPPET_JS, { level: 9 }).length };
}

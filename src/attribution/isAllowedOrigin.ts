/**
 * Whether a browser Origin may use an account's snippet: its host equals an allowed domain, or is a
 * subdomain of a `*.example.com` entry (which does not include example.com itself). Scheme and port
 * are not compared (http and https, any port). `null` origins (sandboxed frames, file:) never match.
 *
 * @example isAllowedOrigin('https://shop.example.com', ['*.example.com']) // true
 */
export function isAllowedOrigin(origin: string | undefined, allowedDomains: readonly string[]): boolean {
  if (!origin || origin === 'null') return false;
  let host: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    host = url.hostname.toLowerCase();
  } catch {
    return false;
  }
  return allowedDomains.some((entry) => {
    const d = entry.trim().toLowerCase();
    if (d.startsWith('*.')) return host.endsWith(d.slice(1)) && host.length > d.length - 1;
    return d !== '' && host === d;
  });
}

/** An allowed-domains entry: a host name, or `*.` and a host name. */
export const ALLOWED_DOMAIN_PATTERN = '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$';

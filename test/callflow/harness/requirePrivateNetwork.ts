import { execFileSync } from 'node:child_process';

/**
 * Call-flow suites bind fixed SIP/RTP/HTTP ports and send traffic; they must run in a private
 * network namespace with only `lo` (scripts/test.sh runs vitest under `unshare -n`). Throws
 * a clear message instead of touching the host's network.
 */
export function requirePrivateNetwork(): void {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]?.trim() ?? '');
  if (links.length !== 1 || links[0] !== 'lo') {
    throw new Error(`call-flow tests must run in a private network namespace (npm test does this); interfaces here: ${links.join(', ')}`);
  }
}

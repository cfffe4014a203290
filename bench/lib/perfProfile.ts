/**
 * Reads `perf report --stdio --sort dso,symbol --no-children` and turns its shares into milliseconds
 * of Asterisk CPU per call, so two designs' profiles can be subtracted symbol by symbol.
 */

/** `dso symbol` → share of the samples (0–1). */
export function parsePerfReport(text: string): Map<string, number> {
  const shares = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(\S+)\s+\[[^\]]+\]\s+(.+?)(?:\s+-)*\s*$/.exec(line);
    if (!m) continue;
    const key = `${m[2]} ${m[3]}`;
    shares.set(key, (shares.get(key) ?? 0) + Number(m[1]) / 100);
  }
  return shares;
}

/** Per symbol, ms per call: the share times the run's Asterisk CPU per call. */
export function msPerCall(shares: ReadonlyMap<string, number>, cpuMsPerCall: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, share] of shares) out[key] = share * cpuMsPerCall;
  return out;
}

/**
 * Mean ms per call per symbol for each design, and the `top` symbols by the size of their
 * difference (router − dialplan), largest first.
 */
export function profileDifference(router: ReadonlyArray<Record<string, number>>, dialplan: ReadonlyArray<Record<string, number>>, top = 25): Array<{ symbol: string; routerMs: number; dialplanMs: number; extraMs: number }> {
  const mean = (runs: ReadonlyArray<Record<string, number>>, key: string): number => runs.reduce((a, r) => a + (r[key] ?? 0), 0) / Math.max(1, runs.length);
  const keys = new Set([...router, ...dialplan].flatMap((r) => Object.keys(r)));
  return [...keys]
    .map((symbol) => ({ symbol, routerMs: mean(router, symbol), dialplanMs: mean(dialplan, symbol) }))
    .map((x) => ({ ...x, extraMs: x.routerMs - x.dialplanMs }))
    .sort((a, b) => Math.abs(b.extraMs) - Math.abs(a.extraMs))
    .slice(0, top);
}

/** The same profile summed by shared object (`asterisk`, `[kernel.kallsyms]`, `app_mixmonitor.so`…). */
export function byDso(profile: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, ms] of Object.entries(profile)) {
    const dso = key.slice(0, key.indexOf(' '));
    out[dso] = (out[dso] ?? 0) + ms;
  }
  return out;
}

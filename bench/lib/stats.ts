/** Small statistics helpers for the benchmark report. */

/** Nearest-rank percentile (p in 0–100) of `values`; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : null,
  };
}

export function round(x: number | null | undefined, digits = 2): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function median(values: readonly number[]): number | null {
  return percentile(values, 50);
}

/** Student t, two-sided 95 %, for 1–10 degrees of freedom (more use the value for 10: a little wide). */
const T95 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];

/**
 * Geometric mean of ratios and its 95 % interval (Student t on the logs); one value has no interval.
 *
 * @example geometricMean95([0.5, 2]).mean // 1
 */
export function geometricMean95(ratios: readonly number[]): { mean: number; ci: [number, number] } {
  const logs = ratios.map((x) => Math.log(x));
  const m = logs.reduce((a, b) => a + b, 0) / Math.max(1, logs.length);
  const sd = logs.length > 1 ? Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (logs.length - 1)) : 0;
  const half = logs.length > 1 ? (T95[Math.min(T95.length, logs.length - 1) - 1] as number) * (sd / Math.sqrt(logs.length)) : 0;
  return { mean: Math.exp(m), ci: [Math.exp(m - half), Math.exp(m + half)] };
}

import { describe, expect, it } from 'vitest';
import { geometricMean95, percentile } from '../../bench/lib/stats.js';

describe('bench statistics', () => {
  it('geometric mean of ratios: symmetric in up and down, an interval that holds it, none for one value', () => {
    expect(geometricMean95([0.5, 2]).mean).toBeCloseTo(1, 10);
    const { mean, ci } = geometricMean95([1.1, 1.2, 1.0, 1.15]);
    expect(mean).toBeCloseTo(Math.exp((Math.log(1.1) + Math.log(1.2) + Math.log(1.15)) / 4), 10);
    expect(ci[0]).toBeLessThan(mean);
    expect(ci[1]).toBeGreaterThan(mean);
    expect(ci[0]).toBeGreaterThan(0.9);
    const one = geometricMean95([1.3]);
    expect(one.mean).toBeCloseTo(1.3, 10);
    expect(one.ci).toEqual([one.mean, one.mean]);
  });

  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect([percentile(v, 50), percentile(v, 99), percentile(v, 100), percentile([], 50)]).toEqual([50, 99, 100, null]);
  });
});

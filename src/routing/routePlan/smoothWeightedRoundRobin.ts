/**
 * Smooth weighted round robin (the nginx upstream algorithm): every pick adds each destination's
 * weight to its counter, takes the largest counter (the first in order on a tie) and subtracts the
 * total weight from it. Over any run of `sum(weights)` picks each destination is picked exactly
 * `weight` times, interleaved rather than in bursts (weights 5,1,1 → a a b a c a a).
 *
 * Counters are keyed by target so a plan edit keeps the spreading of destinations that stayed;
 * counters of removed targets are dropped, new targets start at 0.
 *
 * @example
 * smoothWeightedPick({}, [{ target: 'a', weight: 2 }, { target: 'b', weight: 1 }])
 * // { index: 0, counters: { a: -1, b: 1 } }
 */
export function smoothWeightedPick(
  counters: Readonly<Record<string, number>>,
  destinations: readonly { target: string; weight?: number }[],
): { index: number; counters: Record<string, number> } {
  const next: Record<string, number> = {};
  let total = 0;
  let best = -1;
  let bestValue = -Infinity;
  destinations.forEach((d, i) => {
    const weight = d.weight ?? 1;
    const value = (counters[d.target] ?? 0) + weight;
    next[d.target] = value;
    total += weight;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  });
  const picked = destinations[best];
  if (picked) next[picked.target] = bestValue - total;
  return { index: best, counters: next };
}

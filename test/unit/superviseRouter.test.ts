import { describe, expect, it } from 'vitest';
import { exitReason, nextRestart, RESTART_BACKOFF, STABLE_RUN_MS } from '../../scripts/superviseRouter.js';

describe('the start command supervising the router', () => {
  it('restarts at once after a healthy run, and backs off while the router keeps dying at start', () => {
    const top = () => 1;
    expect(nextRestart(0, STABLE_RUN_MS, top)).toEqual({ attempt: 0, delayMs: RESTART_BACKOFF.initialMs });
    expect(nextRestart(7, 10 * STABLE_RUN_MS, top)).toEqual({ attempt: 0, delayMs: RESTART_BACKOFF.initialMs });
    const delays: number[] = [];
    let attempt = 0;
    for (let i = 0; i < 8; i++) {
      const next = nextRestart(attempt, 1_000, top);
      attempt = next.attempt;
      delays.push(next.delayMs);
    }
    expect(delays).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('says how the router went: the signal that killed it, or its exit code', () => {
    expect(exitReason(null, 'SIGKILL')).toBe('killed by SIGKILL');
    expect(exitReason(1, null)).toBe('exited with code 1');
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TIMED_OUT, withinMs } from '../../src/withinMs.js';

describe('withinMs', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('gives the value of a promise that settles in time, and clears its timer', async () => {
    const waited = withinMs(Promise.resolve(7), 1_000);
    await expect(waited).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives TIMED_OUT for a promise still pending after the time', async () => {
    const waited = withinMs(new Promise<never>(() => {}), 1_000);
    await vi.advanceTimersByTimeAsync(999);
    let settled = false;
    void waited.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(waited).resolves.toBe(TIMED_OUT);
  });

  it('passes a rejection through', async () => {
    await expect(withinMs(Promise.reject(new Error('down')), 1_000)).rejects.toThrow('down');
    expect(vi.getTimerCount()).toBe(0);
  });
});

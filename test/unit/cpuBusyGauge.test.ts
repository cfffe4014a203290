import { describe, expect, it } from 'vitest';
import { createCpuBusyGauge, parseProcStat } from '../../src/media/createCpuBusyGauge.js';

const stat = (user: number, nice: number, system: number, idle: number): string =>
  `cpu  ${user} ${nice} ${system} ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 0 0 0 0 0 0\n`;

describe('how busy the machine is with calls (/proc/stat)', () => {
  it('counts niced work (our idle-class transcoding) as free time', () => {
    expect(parseProcStat(stat(100, 50, 20, 30))).toEqual({ busy: 120, total: 200 });
    expect(parseProcStat('no cpu line')).toBeNull();
  });

  it('reports the share of normal-priority CPU between samples, resampling at most every sampleMs', () => {
    let text = stat(0, 0, 0, 0);
    let t = 0;
    const gauge = createCpuBusyGauge({ read: () => text, now: () => t, sampleMs: 1000 });
    text = stat(60, 100, 20, 20);
    t = 500;
    expect(gauge.percent()).toBe(0);
    t = 1000;
    expect(gauge.percent()).toBe(40);
    text = stat(60, 300, 20, 20);
    t = 2000;
    expect(gauge.percent()).toBe(0);
  });
});

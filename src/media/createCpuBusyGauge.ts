import { readFileSync } from 'node:fs';

/** CPU times from the `cpu` line of /proc/stat (clock ticks). */
interface CpuTimes {
  /** Time spent on work at normal priority: user, system, irq, softirq, steal. */
  busy: number;
  total: number;
}

/**
 * Reads the machine-wide CPU times. Work at lowered priority (the `nice` column: our own idle-class
 * transcoding among it) is counted as free time: it is what background work may use.
 */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/**
 * How busy the machine has been lately with work that matters (calls): the share of CPU time at
 * normal priority since the previous sample, resampled at most every `sampleMs`. Off Linux (no
 * /proc/stat) it reports 0: never busy.
 *
 * @example const gauge = createCpuBusyGauge(); gauge.percent() // e.g. 37.5
 */
export function createCpuBusyGauge(opts: { sampleMs?: number; read?: () => string; now?: () => number } = {}) {
  const sampleMs = opts.sampleMs ?? 1000;
  const read = opts.read ?? (() => readFileSync('/proc/stat', 'utf8'));
  const now = opts.now ?? Date.now;
  const sample = (): CpuTimes | null => {
    try {
      return parseProcStat(read());
    } catch {
      return null;
    }
  };
  let last = sample();
  let lastAt = now();
  let percent = 0;
  return {
    percent(): number {
      if (now() - lastAt < sampleMs) return percent;
      const current = sample();
      if (current && last && current.total > last.total) percent = (100 * (current.busy - last.busy)) / (current.total - last.total);
      last = current;
      lastAt = now();
      return percent;
    },
  };
}

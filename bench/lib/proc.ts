/** CPU and memory of processes and of the box, from /proc (Linux). */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** User + system CPU seconds a process has used (all its threads), or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Resident set size in MB, or null when the process is gone. */
export function rssMb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole box (all CPUs). */
export function boxJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export interface ProcSample {
  t: number;
  cpu: Record<string, number | null>;
  rss: Record<string, number | null>;
  boxBusy: number;
  boxTotal: number;
}

export interface SamplerResult {
  /** CPU seconds used per process over the sampled span. */
  cpuSeconds: Record<string, number>;
  /** Peak CPU over any one sample interval, in % of one core. */
  peakCpuPercent: Record<string, number>;
  /** Mean CPU over the span, % of one core. */
  meanCpuPercent: Record<string, number>;
  peakRssMb: Record<string, number>;
  startRssMb: Record<string, number>;
  /** Lowest RSS seen during the span (after a collection the start value can be above it). */
  minRssMb: Record<string, number>;
  /** The whole box: mean and peak busy % of all cores (100 = every core busy). */
  boxMeanBusyPercent: number;
  boxPeakBusyPercent: number;
  seconds: number;
}

/**
 * Samples named processes every `intervalMs` until stopped. `pids` may change (a restarted process):
 * it is read at every sample.
 */
export function startSampler(pids: () => Record<string, number | undefined>, intervalMs = 1000) {
  const samples: ProcSample[] = [];
  const take = (): void => {
    const cpu: Record<string, number | null> = {};
    const rss: Record<string, number | null> = {};
    for (const [name, pid] of Object.entries(pids())) {
      cpu[name] = pid ? cpuSeconds(pid) : null;
      rss[name] = pid ? rssMb(pid) : null;
    }
    const box = boxJiffies();
    samples.push({ t: performance.now(), cpu, rss, boxBusy: box.busy, boxTotal: box.total });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    stop(): SamplerResult {
      clearInterval(timer);
      take();
      const first = samples[0] as ProcSample;
      const last = samples[samples.length - 1] as ProcSample;
      const seconds = (last.t - first.t) / 1000;
      const names = Object.keys(first.cpu);
      const out: SamplerResult = {
        cpuSeconds: {},
        peakCpuPercent: {},
        meanCpuPercent: {},
        peakRssMb: {},
        startRssMb: {},
        minRssMb: {},
        boxMeanBusyPercent: ((last.boxBusy - first.boxBusy) / Math.max(1, last.boxTotal - first.boxTotal)) * 100,
        boxPeakBusyPercent: 0,
        seconds,
      };
      for (const name of names) {
        let peak = 0;
        let peakRss = 0;
        let minRss = Infinity;
        for (let i = 1; i < samples.length; i += 1) {
          const a = samples[i - 1] as ProcSample;
          const b = samples[i] as ProcSample;
          const ca = a.cpu[name];
          const cb = b.cpu[name];
          // Only whole intervals: a timer that fired late leaves a short one, where 10 ms jiffies mislead.
          if (ca != null && cb != null && cb >= ca && b.t - a.t >= intervalMs * 0.8) peak = Math.max(peak, ((cb - ca) / ((b.t - a.t) / 1000)) * 100);
          peakRss = Math.max(peakRss, b.rss[name] ?? 0);
          if (b.rss[name] != null) minRss = Math.min(minRss, b.rss[name] as number);
        }
        out.minRssMb[name] = Number.isFinite(minRss) ? minRss : 0;
        // A process started during the span (the carrier's sipp) counts from zero; one that ended
        // during it counts up to its last sample (at most one interval is lost).
        const seen = samples.map((x) => x.cpu[name]).filter((v): v is number => v != null);
        const c0 = first.cpu[name] ?? (seen.length > 0 ? 0 : null);
        const c1 = seen[seen.length - 1];
        out.cpuSeconds[name] = c0 != null && c1 !== undefined ? Math.max(0, c1 - c0) : 0;
        out.meanCpuPercent[name] = seconds > 0 ? ((out.cpuSeconds[name] ?? 0) / seconds) * 100 : 0;
        out.peakCpuPercent[name] = peak;
        out.peakRssMb[name] = peakRss;
        out.startRssMb[name] = first.rss[name] ?? 0;
      }
      for (let i = 1; i < samples.length; i += 1) {
        const a = samples[i - 1] as ProcSample;
        const b = samples[i] as ProcSample;
        if (b.t - a.t < intervalMs * 0.8) continue;
        out.boxPeakBusyPercent = Math.max(out.boxPeakBusyPercent, ((b.boxBusy - a.boxBusy) / Math.max(1, b.boxTotal - a.boxTotal)) * 100);
      }
      return out;
    },
  };
}

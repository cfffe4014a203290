/**
 * One load run: sipp as the carrier places calls at a rate, at most so many at once, against the
 * router (the tracking number) or the bench dialplan (the destination dialled directly), while a
 * capture on lo times every call and a sampler takes each process's CPU and memory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ariLoadProfile, ariSteps, startAriCapture, timelineBetween } from './lib/ariTimeline.js';
import { msPerCall, parsePerfReport } from './lib/perfProfile.js';
import { startSampler } from './lib/proc.js';
import { callTimings, startSipCapture, type CallTiming, type SipPacket } from './lib/sipCapture.js';
import { startLoadSipp } from './lib/sippLoad.js';
import { round, summarize, type Summary } from './lib/stats.js';
import { startTwinTranscodes } from './lib/twinTranscodes.js';
import { results, type LoadResult } from './benchResults.js';
import { asteriskLeft, config, rig, spoolDir, work } from './rig.js';
import { DESTINATION, DIALPLAN_CARRIER, DIALPLAN_TRANSCODES, DID, PERF, PHONE, ROUTER_CARRIER, type Design } from './settings.js';

export async function runLoad(
  design: Design,
  label: string,
  p: { calls: number; limit: number; rate: number; holdMs: number },
  samplesFrom: number,
  opts: { ariTimeline?: boolean; ariCapture?: boolean; twinTranscodes?: boolean } = {},
): Promise<LoadResult> {
  const carrier = design === 'router' ? ROUTER_CARRIER : DIALPLAN_CARRIER;
  const capture = await startSipCapture(join(work, `${label}.pcap`));
  const ariCapture = design === 'router' && opts.ariCapture !== false ? await startAriCapture(join(work, `${label}-ari.pcap`), config.ari.port, config.routing.dialplanHookPort) : undefined;
  let uacPid: number | undefined;
  const sampler = startSampler(() => ({
    asterisk: rig.asterisk?.pid,
    router: design === 'router' ? rig.router?.pid : undefined,
    sippDestination: rig.phone?.pid,
    sippCarrier: uacPid,
  }));
  const expectSeconds = p.calls / p.rate + p.holdMs / 1000 + 40;
  const uac = startLoadSipp({
    scenario: rig.carrierScenario,
    role: 'uac',
    ...carrier,
    dir: work,
    name: label,
    remote: `127.0.0.1:${config.sip.port}`,
    dialed: design === 'router' ? DID : DESTINATION,
    calls: p.calls,
    limit: p.limit,
    rate: p.rate,
    holdMs: p.holdMs,
    timeoutSeconds: Math.ceil(expectSeconds),
  });
  uacPid = uac.pid;
  const twin =
    design === 'dialplan' && (DIALPLAN_TRANSCODES || opts.twinTranscodes)
      ? startTwinTranscodes({ spoolDir: spoolDir(), outDir: work, format: config.recordings.format, concurrency: config.recordings.transcodeConcurrency, ffmpegPath: config.recordings.ffmpegPath })
      : undefined;
  // `--perf`: a sampled profile of Asterisk for the run (software clock: this VM has no PMU).
  let perfShares: Map<string, number> | undefined;
  const perf = PERF && rig.asterisk ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '1999', '-p', String(rig.asterisk.pid), '-o', join(work, `${label}.perf.data`)], { stdio: 'ignore' }) : undefined;
  const backstop = setTimeout(() => uac.kill(), (expectSeconds + 15) * 1000);
  const done = await uac.done;
  clearTimeout(backstop);
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('close', r));
    // No --symfs: the maps perf recorded already name the chroot's files by their path on this host.
    const report = spawnSync('perf', ['report', '-i', join(work, `${label}.perf.data`), '--sort', 'dso,symbol', '--stdio', '--no-children'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    writeFileSync(join(work, `${label}.perf.txt`), report.stdout);
    results.notes.push(`${label}: Asterisk profile in ${join(work, `${label}.perf.txt`)}`);
    perfShares = parsePerfReport(report.stdout);
  }
  const left = await asteriskLeft(20_000);
  const proc = sampler.stop();
  // After the measured window, as the router's transcodes of the last calls run past it too.
  const twinTranscodes = await twin?.stop();
  if (twinTranscodes !== undefined) results.notes.push(`${label}: ${twinTranscodes} of the dialplan's recordings transcoded as the router does`);
  const cap = await capture.stop();
  rmSync(cap.file, { force: true });
  const ariPcap = await ariCapture?.stop();
  rmSync(join(work, `${label}-ari.pcap`), { force: true });
  const timings = callTimings(cap.packets, carrier.localPort, PHONE.localPort).sort((a, b) => a.carrierInviteAt - b.carrierInviteAt);
  // BYE from the carrier answered with 200: the call held to its end.
  const byeOk = new Set<string>();
  const byeCallIds = new Map<string, number>();
  for (const m of cap.packets) {
    if (m.method === 'BYE' && m.srcPort === carrier.localPort) byeCallIds.set(m.callId, m.ts);
    if (m.status === 200 && m.cseqMethod === 'BYE' && m.dstPort === carrier.localPort) byeOk.add(m.callId);
  }
  const answered = timings.filter((t) => t.finalStatus === 200);
  const otherFinal: Record<string, number> = {};
  for (const t of timings) if (t.finalStatus !== undefined && t.finalStatus !== 200 && t.finalStatus !== 503) otherFinal[t.finalStatus] = (otherFinal[t.finalStatus] ?? 0) + 1;
  const measured = timings.slice(samplesFrom);
  const ms = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined ? (b - a) * 1000 : undefined);
  const i2i = measured.map((t) => ms(t.carrierInviteAt, t.destinationInviteAt)).filter((x): x is number => x !== undefined);
  const o2o = measured.map((t) => ms(t.destinationOkAt, t.callerOkAt)).filter((x): x is number => x !== undefined);
  const peak = peakConcurrent(timings, cap.packets, carrier.localPort);
  const calls = Math.max(1, answered.length);
  const r: LoadResult = {
    design,
    label,
    plan: p,
    placed: timings.length,
    answered: answered.length,
    refused503: timings.filter((t) => t.finalStatus === 503).length,
    otherFinal,
    noFinal: timings.filter((t) => t.finalStatus === undefined).length,
    byeCompleted: byeOk.size,
    sippExit: done.exitCode,
    peakConcurrent: peak,
    inviteToInvite: roundSummary(summarize(i2i)),
    okToOk: roundSummary(summarize(o2o)),
    samplesFrom,
    proc,
    asteriskCpuPerCallSeconds: round((proc.cpuSeconds.asterisk ?? 0) / calls, 4),
    asteriskCpuPerCallSecondMs: round((((proc.cpuSeconds.asterisk ?? 0) / calls) * 1000) / Math.max(0.001, p.holdMs / 1000), 3),
    routerCpuPerCallMs: design === 'router' ? round(((proc.cpuSeconds.router ?? 0) / calls) * 1000, 2) : null,
    routerRssPerConcurrentCallKb:
      design === 'router' ? round((((proc.peakRssMb.router ?? 0) - Math.min(proc.startRssMb.router ?? 0, proc.minRssMb.router ?? 0)) * 1024) / Math.max(1, peak), 1) : null,
    leftInAsterisk: left,
    captureDropped: cap.dropped,
    maxRingSeconds: round(Math.max(0, ...answered.map((t) => (t.callerOkAt as number) - t.carrierInviteAt)), 2) ?? 0,
    foreignCpuPercentOfBox:
      round(
        proc.boxMeanBusyPercent -
          Object.values(proc.meanCpuPercent).reduce((a, b) => a + b, 0) / cpus().length,
        1,
      ) ?? 0,
  };
  if (perfShares) r.perfMsPerCall = msPerCall(perfShares, ((proc.cpuSeconds.asterisk ?? 0) / Math.max(1, r.placed)) * 1000);
  if (ariPcap) {
    const profile = ariLoadProfile(ariPcap, config.ari.port, config.routing.dialplanHookPort);
    r.ari = { ...profile, requestsPerCall: round(profile.requests / Math.max(1, timings.length), 1) ?? 0, eventsPerCall: round(profile.events / Math.max(1, timings.length), 1) ?? 0 };
  }
  if (ariPcap && opts.ariTimeline) {
    const steps = ariSteps(ariPcap, config.ari.port, config.routing.dialplanHookPort);
    const done2 = timings.filter((t) => t.destinationInviteAt !== undefined && t.callerOkAt !== undefined && t.destinationOkAt !== undefined);
    r.ariTimeline = {
      inviteToInvite: timelineBetween(steps, done2.map((t) => ({ from: t.carrierInviteAt, to: t.destinationInviteAt as number }))),
      okToOk: timelineBetween(steps, done2.map((t) => ({ from: t.destinationOkAt as number, to: t.callerOkAt as number }))),
    };
  }
  if (done.exitCode !== 0 && existsSync(done.errorFile)) {
    const errors = readFileSync(done.errorFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    if (errors) results.notes.push(`${label}: sipp exit ${done.exitCode}: ${errors.slice(0, 400)}`);
  }
  callTimingsOf.set(r, timings);
  return r;
}

/** Each run's calls as the capture saw them (not in the JSON): the dialplan's files are checked against them. */
export const callTimingsOf = new WeakMap<LoadResult, CallTiming[]>();

export function peakConcurrent(timings: CallTiming[], packets: readonly SipPacket[], carrierPort: number): number {
  const byeAt = new Map<string, number>();
  for (const m of packets) if (m.method === 'BYE' && (m.srcPort === carrierPort || m.dstPort === carrierPort) && !byeAt.has(m.callId)) byeAt.set(m.callId, m.ts);
  const invites = new Map<number, string>();
  for (const m of packets) if (m.method === 'INVITE' && !m.toTag && m.srcPort === carrierPort) invites.set(m.ts, m.callId);
  const edges: Array<[number, number]> = [];
  for (const t of timings) {
    if (t.callerOkAt === undefined) continue;
    const callId = invites.get(t.carrierInviteAt);
    const end = callId ? byeAt.get(callId) : undefined;
    edges.push([t.callerOkAt, 1], [end ?? Infinity, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of edges) {
    cur += d;
    peak = Math.max(peak, cur);
  }
  return peak;
}

export function roundSummary(s: Summary): Summary {
  return { n: s.n, p50: round(s.p50, 2), p95: round(s.p95, 2), p99: round(s.p99, 2), max: round(s.max, 2) };
}

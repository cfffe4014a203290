/** The markdown table of a run (printed, and written to bench/results/latest.md or latest-quick.md). */
import { failedCalls, results, type LoadResult } from './benchResults.js';
import { round } from './lib/stats.js';
import { PLAN, type Design } from './settings.js';

export function renderTable(): string {
  const lines: string[] = [];
  const row = (cells: Array<string | number | null | undefined>): string => `| ${cells.map((c) => (c === null || c === undefined ? '—' : String(c))).join(' | ')} |`;
  lines.push('', '### Post-dial delay (ms; capture on lo)', '');
  lines.push(row(['concurrent', 'design', 'INVITE→INVITE p50', 'p95', 'p99', '200→200 p50', 'p95', 'p99', 'calls measured', 'other load on box %']));
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const r of results.pdd) {
    lines.push(row([r.plan.limit, r.design, r.inviteToInvite.p50, r.inviteToInvite.p95, r.inviteToInvite.p99, r.okToOk.p50, r.okToOk.p95, r.okToOk.p99, r.inviteToInvite.n, r.foreignCpuPercentOfBox]));
  }
  const timeline = results.pdd.find((x) => x.ariTimeline)?.ariTimeline;
  if (timeline) {
    lines.push('', '### Inside the router\'s delay, one call at a time (ARI and the dialplan\'s routing requests on the wire; median ms after the carrier INVITE / the destination 200)', '');
    lines.push(`- INVITE→INVITE: ${timeline.inviteToInvite.map((s) => `${s.medianMs} ${s.step}`).join(' · ')}`);
    lines.push(`- 200→200: ${timeline.okToOk.map((s) => `${s.medianMs} ${s.step}`).join(' · ')}`);
  }
  const profiled = results.pdd.filter((x) => x.ari);
  if (profiled.length) {
    lines.push('', '### Per router call: the router\'s time to answer the dialplan\'s routing request, ARI traffic, and Asterisk\'s time per ARI request (ms, request → response on the wire)', '');
    const kinds = ['POST /ari/bridges', 'POST /ari/channels/create', 'POST /ari/bridges/{id}/addChannel', 'POST /ari/channels/{id}/dial', 'POST /ari/channels/{id}/answer'];
    lines.push(row(['concurrent', 'routing request p50/p95/p99', 'ARI requests/call', 'events/call', ...kinds.map((k) => `${k.replace('/ari', '')} p50/p95`)]));
    lines.push(row(['---', '---', '---', '---', ...kinds.map(() => '---')]));
    for (const r of profiled) {
      const a = r.ari as NonNullable<LoadResult['ari']>;
      const hook = a.hookServiceMs ? `${a.hookServiceMs.p50}/${a.hookServiceMs.p95}/${a.hookServiceMs.p99}` : null;
      lines.push(row([r.plan.limit, hook, a.requestsPerCall, a.eventsPerCall, ...kinds.map((k) => (a.serviceMs[k] ? `${a.serviceMs[k]?.p50}/${a.serviceMs[k]?.p95}` : null))]));
    }
  }
  lines.push('', '### Router minus dialplan (ms)', '');
  lines.push(row(['concurrent', 'INVITE→INVITE Δp50', 'Δp99', '200→200 Δp50', 'Δp99', 'target']));
  lines.push(row(['---', '---', '---', '---', '---', '---']));
  for (const r of results.pdd.filter((x) => x.design === 'router')) {
    const d = results.pdd.find((x) => x.design === 'dialplan' && x.plan.limit === r.plan.limit);
    if (!d) continue;
    const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : round(a - b, 2));
    const dp50 = diff(r.inviteToInvite.p50, d.inviteToInvite.p50);
    const dp99 = diff(r.inviteToInvite.p99, d.inviteToInvite.p99);
    const ok = r.plan.limit > 100 ? 'n/a (> 100)' : dp50 !== null && dp99 !== null && dp50 <= 3 && dp99 <= 10 ? 'met' : 'missed';
    lines.push(row([r.plan.limit, dp50, dp99, diff(r.okToOk.p50, d.okToOk.p50), diff(r.okToOk.p99, d.okToOk.p99), ok]));
  }
  if (results.webhooks?.length) {
    const w = results.webhooks;
    lines.push('', `### Webhook fan-out (router, ${w[0]?.result.plan.limit} concurrent; runs alternating; every event to each endpoint)`, '');
    lines.push(row(['endpoints', 'INVITE→INVITE p50', 'p95', 'p99', '200→200 p50', 'p99', 'Asterisk CPU-s per call', 'router CPU ms/call', 'answered/placed', 'deliveries (per call)', 'call.ended delivered after p50 ms', 'p99']));
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    for (const x of w) {
      const r = x.result;
      lines.push(row([x.endpoints, r.inviteToInvite.p50, r.inviteToInvite.p95, r.inviteToInvite.p99, r.okToOk.p50, r.okToOk.p99, r.asteriskCpuPerCallSeconds, r.routerCpuPerCallMs, `${r.answered}/${r.placed}`, `${x.deliveries} (${x.deliveriesPerCall})`, x.lagMs.p50, x.lagMs.p99]));
    }
    const mean = (endpoints: number, pick: (r: LoadResult) => number | null): number | null => {
      const v = w.filter((x) => x.endpoints === endpoints).map((x) => pick(x.result)).filter((n): n is number => n !== null);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const ratio = (pick: (r: LoadResult) => number | null): string => {
      const a = mean(3, pick);
      const b = mean(0, pick);
      return a !== null && b ? (a / b).toFixed(2) : '—';
    };
    lines.push(`- with ÷ without webhooks: INVITE→INVITE p50 ${ratio((r) => r.inviteToInvite.p50)}, p99 ${ratio((r) => r.inviteToInvite.p99)}; Asterisk CPU per call ${ratio((r) => r.asteriskCpuPerCallSeconds)}; router CPU per call ${ratio((r) => r.routerCpuPerCallMs)}`);
  }
  lines.push('', `### Capacity (recorded calls of ${PLAN.capacityHoldMs / 1000} s, RTP both ways)`, '');
  lines.push(row(['level', 'design', 'answered/placed', 'failed', 'peak up', 'Asterisk CPU-s per call', 'Asterisk peak %', 'box peak %', 'other load %', 'router CPU ms/call', 'router kB/call', 'left ch/br', 'integrity']));
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const r of results.capacity) {
    lines.push(
      row([
        r.plan.limit, r.design, `${r.answered}/${r.placed}`, failedCalls(r), r.peakConcurrent, r.asteriskCpuPerCallSeconds,
        Math.round(r.proc.peakCpuPercent.asterisk ?? 0), Math.round(r.proc.boxPeakBusyPercent), r.foreignCpuPercentOfBox, r.routerCpuPerCallMs, r.routerRssPerConcurrentCallKb,
        `${r.leftInAsterisk.channels}/${r.leftInAsterisk.bridges}`, r.integrity?.ok ? 'ok' : 'FAIL',
      ]),
    );
  }
  for (const d of ['router', 'dialplan'] as const) {
    const s = results.capacitySummary[d];
    lines.push(`- ${d}: highest zero-failure level ${s.zeroFailureLevel ?? 'none'}; stopped by ${s.stoppedBy}`);
  }
  // Asterisk CPU ratio at matching levels: the mean of each design's runs (A-B-B-A order).
  const ratios: string[] = [];
  const meanCpu = (design: Design, level: number): number | null => {
    const cpu = results.capacity.filter((x) => x.design === design && x.plan.limit === level).map((x) => x.asteriskCpuPerCallSeconds ?? 0).filter((v) => v > 0);
    return cpu.length === 0 ? null : cpu.reduce((a, v) => a + v, 0) / cpu.length;
  };
  for (const level of [...new Set(results.capacity.map((x) => x.plan.limit))]) {
    const r = meanCpu('router', level);
    const d = meanCpu('dialplan', level);
    if (r && d) ratios.push(`${level}: ${(r / d).toFixed(2)}`);
  }
  if (ratios.length) lines.push(`- Asterisk CPU per call, router ÷ dialplan (mean of each design's runs, run A-B-B-A), by level: ${ratios.join(', ')}`);
  if (results.cpu.length) {
    const pinned = results.cpuPinned ? 'Asterisk alone on CPU 0, everything else on the other CPUs; ' : '';
    lines.push('', `### Asterisk CPU per call on a quiet box (${pinned}designs alternating, each run after the last one's transcodes; no ARI capture)`, '');
    lines.push(
      row(['calls (ms per call placed)', 'runs each', 'router ms/call', 'dialplan ms/call', 'router − dialplan ms', 'router ÷ dialplan (pairs)', '95 % CI', 'control: sipps router ÷ dialplan (pairs)', 'Asterisk ÷ control', '95 % CI']),
    );
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    for (const c of results.cpu) {
      const x = c.summary;
      lines.push(
        row([
          c.name, x.routerMs.length, `${x.routerMeanMs} (${x.routerMs.join(', ')})`, `${x.dialplanMeanMs} (${x.dialplanMs.join(', ')})`, x.extraMs, `${x.ratio} (${x.pairRatios.join(', ')})`,
          x.ratioCi95.join('–'), `${x.sippRatio} (${x.sippPairRatios.join(', ')})`, x.normalisedRatio, x.normalisedRatioCi95.join('–'),
        ]),
      );
    }
    lines.push(
      '',
      "The control: the two sipps do the same work in both designs, so their CPU per call moving with the design is what the box's other load",
      "(the router's transcodes) does to the CPU time of identical work. Asterisk ÷ control takes that out: the work Asterisk does for the router.",
    );
  }
  if (results.overload) {
    lines.push('', `### Overload (${results.overload.offered} offered at ${results.overload.offeredPerSecond}/s, cap ${results.overload.cap}, at most ${results.overload.callsPerSecond || 'any number'} admitted per second)`, '');
    lines.push(row(['design', 'answered', 'refused 503', 'other failures', 'held to end', 'peak up', 'recordings within 1 s of talk time', 'worst off s', 'Asterisk CPU-s per answered call', 'left ch/br', 'checks']));
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    for (const o of [results.overload, results.overloadDialplan]) {
      if (!o) continue;
      const r = o.result;
      lines.push(
        row([
          r.design, r.answered, r.refused503, Object.values(r.otherFinal).reduce((a, b) => a + b, 0) + r.noFinal, `${r.byeCompleted}/${r.answered}`, r.peakConcurrent,
          `${r.integrity?.recordings.lengthOk ?? '—'}/${r.answered}`, r.integrity?.recordings.worstLengthErrorSeconds, r.asteriskCpuPerCallSeconds,
          `${r.leftInAsterisk.channels}/${r.leftInAsterisk.bridges}`, o.problems.length === 0 ? 'all pass' : o.problems.join('; '),
        ]),
      );
    }
  }
  if (results.sqlite) {
    const s = results.sqlite;
    lines.push('', '### SQLite', '');
    lines.push(`- writes (insertArrival + markAnswered + finish, WAL file): ${s.writes.callsPerSecond} calls/s = ${s.writes.statementsPerSecond} statements/s; ${s.writes.meanMsPerCall} ms per call mean, p99 ${s.writes.p99MsPerCall} ms`);
    const off = s.writesWithoutSecureDelete;
    if (off) lines.push(`- the same without secure_delete (alternating rounds): ${off.callsPerSecond} calls/s, ${off.meanMsPerCall} ms mean, p99 ${off.p99MsPerCall} ms; shipped / without = ${round(s.writes.callsPerSecond / off.callsPerSecond, 3)}`);
    lines.push(`- report: ${s.report.rows} rows (${s.report.dbMb} MB, generated in ${s.report.generateSeconds} s); ${s.report.implementation}`, '');
    lines.push(row(['query (calls by source)', 'rows in range', 'shipped schema ms', ...s.report.indexVariants.map((_, i) => `index variant ${i + 1} ms`)]));
    lines.push(row(['---', '---', '---', ...s.report.indexVariants.map(() => '---')]));
    s.report.cases.forEach((c, i) => lines.push(row([c.name, c.rowsInRange, c.medianMs, ...s.report.indexVariants.map((v) => v.cases[i]?.medianMs)])));
    s.report.indexVariants.forEach((v, i) => lines.push(`- variant ${i + 1}: ${v.name}`));
  }
  if (results.postgres) {
    const p = results.postgres;
    const s = results.sqlite;
    lines.push('', `### PostgreSQL beside SQLite (same run; ${p.server}, loopback, fsync on, synchronous_commit off)`, '');
    lines.push(`- writes, one call after another (each write a round trip): ${p.writes.callsPerSecond} calls/s = ${p.writes.statementsPerSecond} statements/s; ${p.writes.meanMsPerCall} ms per call mean, p99 ${p.writes.p99MsPerCall} ms${s ? `; SQLite / PostgreSQL calls/s = ${round(s.writes.callsPerSecond / p.writes.callsPerSecond, 2)}` : ''}`);
    lines.push(`- writes, ${p.writesConcurrent.inFlight} calls at once: ${p.writesConcurrent.callsPerSecond} calls/s, p99 ${p.writesConcurrent.p99MsPerCall} ms per call`);
    lines.push(`- written behind the call (writeBehindCallRecords): ${p.writeBehind.callsPerSecond} calls/s applied; the caller's code waited ${p.writeBehind.queueMsPerCall} ms per call`);
    lines.push(`- report: ${p.report.rows} rows (${p.report.dbMb} MB, generated in ${p.report.generateSeconds} s), callReport run as a store work`, '');
    lines.push(row(['query (calls by source)', 'rows in range', 'SQLite ms', 'PostgreSQL ms', 'PostgreSQL / SQLite']));
    lines.push(row(['---', '---', '---', '---', '---']));
    p.report.cases.forEach((c, i) => {
      const lite = s?.report.cases[i]?.medianMs;
      lines.push(row([c.name, c.rowsInRange, lite, c.medianMs, lite ? round(c.medianMs / lite, 2) : undefined]));
    });
  }
  if (results.transcode) {
    lines.push('', '### Transcoding (src/media/transcodeRecording.ts, ffmpeg CPU incl. the duration check)', '');
    lines.push(row(['format', 'layout', 'audio s', 'ffmpeg CPU s', 'audio s per CPU s']));
    lines.push(row(['---', '---', '---', '---', '---']));
    for (const c of results.transcode) lines.push(row([c.format, c.layout, round(c.audioSeconds, 1), round(c.cpuSeconds, 3), Math.round(c.audioSecondsPerCpuSecond)]));
  }
  if (results.signIn) {
    const s = results.signIn;
    lines.push('', `### Sign-in answers (POST /v1/auth/login, argon2id, ${s.attemptsPerCase} attempts each, interleaved)`, '');
    lines.push(row(['case', 'status', 'median ms', 'p95 ms']));
    lines.push(row(['---', '---', '---', '---']));
    for (const c of s.cases) lines.push(row([c.name, c.status, c.medianMs, c.p95Ms]));
    lines.push(`- unknown e-mail / wrong password, medians: ${s.unknownOverWrong}`);
  }
  return lines.join('\n');
}

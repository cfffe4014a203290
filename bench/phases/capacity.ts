/**
 * Capacity: recorded calls held with RTP both ways, at rising levels, each design twice per level
 * (A-B-B-A), until calls fail, a check fails or the time budget runs out.
 */
import { failedCalls, results } from '../benchResults.js';
import { checkDialplanIntegrity, checkRouterIntegrity } from '../integrity.js';
import { maxCallId, quiesce } from '../rig.js';
import { runLoad } from '../runLoad.js';
import { elapsed, PLAN, say, type Design } from '../settings.js';

export async function phaseCapacity(): Promise<void> {
  say(`\n== capacity: recorded calls of ${PLAN.capacityHoldMs / 1000} s, RTP both ways, levels ${PLAN.capacityLevels.join(', ')}`);
  const failed: Record<Design, boolean> = { router: false, dialplan: false };
  for (const design of ['router', 'dialplan'] as const) results.capacitySummary[design].stoppedBy = 'highest level tested';
  for (const level of PLAN.capacityLevels) {
    // A-B-B-A: the design that runs first at a level paid more Asterisk CPU per call in our runs
    // (swapping the order turned a 1.16 ratio into 0.86), so each design runs once first and once last.
    const passes = new Map<Design, number>();
    for (const design of ['router', 'dialplan', 'dialplan', 'router'] as const) {
      if (failed[design]) continue;
      const pass = (passes.get(design) ?? 0) + 1;
      passes.set(design, pass);
      const needed = level / PLAN.capacityRate + PLAN.capacityHoldMs / 1000 + 45;
      if (elapsed() + needed > PLAN.budgetSeconds) {
        results.capacitySummary[design].stoppedBy = `time budget (${PLAN.budgetSeconds} s) before level ${level}`;
        failed[design] = true;
        continue;
      }
      await quiesce();
      const fromId = design === 'router' ? maxCallId() : 0;
      const r = await runLoad(design, `capacity-${design}-${level}-${pass}`, { calls: level, limit: level, rate: PLAN.capacityRate, holdMs: PLAN.capacityHoldMs }, 0);
      r.integrity = design === 'router' ? await checkRouterIntegrity(r, fromId, 3) : await checkDialplanIntegrity(r, 3);
      results.capacity.push(r);
      const fails = failedCalls(r);
      say(
        `  ${design.padEnd(8)} ${String(level).padStart(3)} (${pass}): answered ${r.answered}/${r.placed}, failed ${fails}, peak ${r.peakConcurrent}; ` +
          `Asterisk ${r.asteriskCpuPerCallSeconds} CPU-s/call (peak ${Math.round(r.proc.peakCpuPercent.asterisk ?? 0)} %), box peak ${Math.round(r.proc.boxPeakBusyPercent)} %` +
          (design === 'router' ? `; router ${r.routerCpuPerCallMs} ms CPU/call, ${r.routerRssPerConcurrentCallKb} kB/call` : '') +
          `; left ${r.leftInAsterisk.channels} ch/${r.leftInAsterisk.bridges} br; integrity ${r.integrity.ok ? 'ok' : r.integrity.problems.join(' | ').slice(0, 300)}`,
      );
      const s = results.capacitySummary[design];
      // A level counts only when both of its runs pass.
      if (fails === 0 && r.peakConcurrent >= level && r.integrity.ok) {
        if (pass === 2) s.zeroFailureLevel = level;
      } else {
        s.firstFailingLevel = level;
        s.stoppedBy = fails > 0 ? `failed calls at ${level}` : r.integrity.ok ? `peak ${r.peakConcurrent} < ${level}` : `integrity at ${level}`;
        failed[design] = true;
      }
    }
  }
}

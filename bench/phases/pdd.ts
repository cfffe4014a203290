/**
 * Post-dial delay: at each level, the same calls through the router and through the bench dialplan,
 * timed on the wire (carrier INVITE → destination INVITE, destination 200 → caller 200).
 */
import { results } from '../benchResults.js';
import { checkDialplanIntegrity, checkRouterIntegrity } from '../integrity.js';
import { maxCallId, quiesce } from '../rig.js';
import { runLoad } from '../runLoad.js';
import { PLAN, say } from '../settings.js';

export async function phasePdd(): Promise<void> {
  say(`\n== post-dial delay (${PLAN.pdd.map((l) => l.level).join(', ')} concurrent)`);
  for (const l of PLAN.pdd) {
    for (const design of ['router', 'dialplan'] as const) {
      const fromId = design === 'router' ? maxCallId() : 0;
      const r = await runLoad(design, `pdd-${design}-${l.level}`, { calls: l.calls, limit: l.level, rate: l.rate, holdMs: l.holdMs }, l.level === 1 ? 0 : l.level, {
        ariTimeline: design === 'router' && l.level === 1,
      });
      r.integrity = design === 'router' ? await checkRouterIntegrity(r, fromId, 1) : await checkDialplanIntegrity(r, 1);
      results.pdd.push(r);
      say(
        `  ${design.padEnd(8)} ${String(l.level).padStart(3)} concurrent: INVITE→INVITE p50 ${r.inviteToInvite.p50} p95 ${r.inviteToInvite.p95} p99 ${r.inviteToInvite.p99} ms; ` +
          `200→200 p50 ${r.okToOk.p50} p99 ${r.okToOk.p99} ms (${r.inviteToInvite.n} calls, peak ${r.peakConcurrent}, answered ${r.answered}/${r.placed})`,
      );
      // The router's transcodes of this run's recordings, deferred while the box was busy, would
      // otherwise run during the next run.
      await quiesce();
    }
  }
}

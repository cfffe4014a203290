import { results, type LoadResult, type OverloadResult } from '../benchResults.js';
import { checkDialplanIntegrity, checkRouterIntegrity } from '../integrity.js';
import { maxCallId, quiesce, setAsteriskGlobal, startRouterWith } from '../rig.js';
import { runLoad } from '../runLoad.js';
import { numberArg, PLAN, say } from '../settings.js';

/**
 * Twice the zero-failure level offered to each design with the same cap: the router's
 * MAX_CONCURRENT_CALLS (counted by Asterisk, a record written for every refusal) and the bench
 * dialplan's GROUP_COUNT against BENCH_CAP. Side by side, a recording that falls short shows whether
 * the router's refusals cost the calls in progress anything the dialplan's own do not.
 */
export async function phaseOverload(): Promise<void> {
  const capArg = numberArg('--overload-cap');
  const cap = Number.isInteger(capArg) && capArg > 0 ? capArg : (results.capacitySummary.router.zeroFailureLevel ?? Math.max(20, Math.floor((PLAN.capacityLevels[0] ?? 100) / 2)));
  const offered = cap * 2;
  // `--overload-rate N`: calls offered per second (default: the offer in 15 s).
  const rateArg = numberArg('--overload-rate');
  const rate = Number.isInteger(rateArg) && rateArg > 0 ? rateArg : Math.max(PLAN.capacityRate, Math.ceil(offered / 15));
  // `--overload-cps N`: calls admitted per second at most (router: MAX_CALLS_PER_SECOND; dialplan:
  // BENCH_CPS). Default: the arrival rate the capacity ramp found the zero-failure level at; 0: none.
  const cpsArg = numberArg('--overload-cps');
  const cps = Number.isInteger(cpsArg) && cpsArg >= 0 ? cpsArg : PLAN.capacityRate;
  say(`\n== overload: ${offered} concurrent calls offered at ${rate}/s, cap ${cap}, at most ${cps || 'any number of'} admitted per second (router: MAX_CONCURRENT_CALLS, MAX_CALLS_PER_SECOND; dialplan: GROUP_COUNT against BENCH_CAP, BENCH_CPS)`);
  for (const design of ['router', 'dialplan'] as const) {
    await quiesce();
    let r: LoadResult;
    if (design === 'router') {
      await startRouterWith({ MAX_CONCURRENT_CALLS: String(cap), MAX_CALLS_PER_SECOND: String(cps) });
      const fromId = maxCallId();
      r = await runLoad('router', `overload-router-${offered}`, { calls: offered, limit: offered, rate, holdMs: PLAN.capacityHoldMs }, 0);
      r.integrity = await checkRouterIntegrity(r, fromId, 3);
      await startRouterWith();
    } else {
      await setAsteriskGlobal('BENCH_CAP', String(cap));
      await setAsteriskGlobal('BENCH_CPS', String(cps));
      r = await runLoad('dialplan', `overload-dialplan-${offered}`, { calls: offered, limit: offered, rate, holdMs: PLAN.capacityHoldMs }, 0);
      await setAsteriskGlobal('BENCH_CAP', '');
      await setAsteriskGlobal('BENCH_CPS', '');
      r.integrity = await checkDialplanIntegrity(r, 3);
    }
    const other = Object.values(r.otherFinal).reduce((a, b) => a + b, 0);
    const checks: Record<string, boolean> = {
      refusedCleanlyWith503: r.refused503 > 0 && other === 0 && r.noFinal === 0,
      answeredCallsHeldToTheEnd: r.byeCompleted >= r.answered,
      answeredNeverAboveCap: r.peakConcurrent <= cap,
      everyAnsweredCallRecordedFullLength: r.integrity.recordings.ready === r.answered && r.integrity.recordings.lengthOk === r.answered,
      nothingLeftInAsterisk: r.leftInAsterisk.channels === 0 && r.leftInAsterisk.bridges === 0,
    };
    if (design === 'router') {
      checks.everyRefusalHasARejectedRecord = r.integrity.records?.rejectedMatchesSip === true;
      checks.recordsFinished = (r.integrity.records?.unfinished ?? 1) === 0;
    }
    const problems = [...r.integrity.problems];
    for (const [k, v] of Object.entries(checks)) if (!v) problems.push(`check failed: ${k}`);
    const o: OverloadResult = { cap, offered, offeredPerSecond: rate, callsPerSecond: cps, result: r, checks, problems };
    if (design === 'router') results.overload = o;
    else results.overloadDialplan = o;
    say(
      `  ${design.padEnd(8)} answered ${r.answered}, refused 503 ${r.refused503}, other ${JSON.stringify(r.otherFinal)}, no answer ${r.noFinal}; held to the end ${r.byeCompleted}/${r.answered}; ` +
        `peak ${r.peakConcurrent}; Asterisk ${r.asteriskCpuPerCallSeconds} CPU-s per answered call; left ${r.leftInAsterisk.channels} ch/${r.leftInAsterisk.bridges} br; ${problems.length === 0 ? 'all checks pass' : problems.join(' | ').slice(0, 400)}`,
    );
  }
}

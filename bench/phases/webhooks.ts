import { results, type WebhookRun } from '../benchResults.js';
import { round } from '../lib/stats.js';
import { startWebhookReceivers } from '../lib/webhookReceivers.js';
import { api, quiesce, rig, startRouterWith } from '../rig.js';
import { roundSummary, runLoad } from '../runLoad.js';
import { PLAN, say } from '../settings.js';


/**
 * Webhook fan-out against the call path: the same router load at one level, without webhooks and
 * with three endpoints that take every event (5 per call each), alternating A-B-B-A. The figures
 * that must not move are the post-dial delay and Asterisk's CPU per call; the deliveries and their
 * lag say the fan-out kept up.
 */
export async function phaseWebhooks(): Promise<void> {
  const w = PLAN.webhooks;
  say(`\n== webhook fan-out (${w.level} concurrent, ${w.calls} calls per run, 0 and 3 endpoints, ${w.pairs} pair(s))`);
  const receivers = await startWebhookReceivers(3);
  await startRouterWith({ WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' });
  const endpoints: number[] = [];
  for (const url of receivers.urls) {
    const res = await api.call<{ id: number }>('POST', '/v1/webhooks', { accountId: rig.accountId, url, eventTypes: ['*'], enabled: false });
    if (res.status !== 201) throw new Error(`creating a webhook endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    endpoints.push(res.body.id);
  }
  const order: number[] = [];
  for (let i = 0; i < w.pairs; i++) order.push(...(i % 2 === 0 ? [0, 3] : [3, 0]));
  results.webhooks = [];
  for (const [i, count] of order.entries()) {
    for (const [j, id] of endpoints.entries()) await api.call('PATCH', `/v1/webhooks/${id}`, { enabled: j < count });
    receivers.reset();
    const r = await runLoad('router', `webhooks-${count}-${i}`, { calls: w.calls, limit: w.level, rate: w.rate, holdMs: w.holdMs }, w.level);
    await receivers.settle();
    const run: WebhookRun = { endpoints: count, result: r, deliveries: receivers.received, deliveriesPerCall: round(receivers.received / Math.max(1, r.answered), 1), lagMs: roundSummary(receivers.lag('call.ended')) };
    results.webhooks.push(run);
    say(
      `  ${count} endpoints: INVITE→INVITE p50 ${r.inviteToInvite.p50} p95 ${r.inviteToInvite.p95} p99 ${r.inviteToInvite.p99} ms; Asterisk ${r.asteriskCpuPerCallSeconds} CPU-s/call; ` +
        `router ${r.routerCpuPerCallMs} ms/call; ${run.deliveries} deliveries (${run.deliveriesPerCall}/call), call.ended delivered after p50 ${run.lagMs.p50} p99 ${run.lagMs.p99} ms`,
    );
    await quiesce();
  }
  for (const id of endpoints) await api.call('DELETE', `/v1/webhooks/${id}`);
  await receivers.stop();
  await startRouterWith();
}

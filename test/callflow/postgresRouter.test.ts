/**
 * The router on PostgreSQL (CALLROUTE_DB_URL), with real Asterisk and sipp: a private PostgreSQL
 * server (scripts/postgres-sandbox.ts) in the suite's network namespace. Calls connect without a
 * round trip to the database (numbers and plans in memory, records written behind the call), so a
 * database that stops for 5 s under calls costs no call and no record; a router killed mid-call
 * finishes its records from the database and the end report file after its restart, once each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../scripts/postgres-sandbox.js';
import { listChannels } from './harness/asteriskState.js';
import { CARRIER_PORTS, PHONE_PORTS, startCallflowStack, useStackHooks, type CallRecordDto, type CallflowStack } from './harness/callflowStack.js';
import { describeSipp, startSipp } from './harness/sipp.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = 8095;
/** Not the integration suites' 55432: this one lives in the call-flow namespace, but stays apart anyway. */
const POSTGRES_PORT = 55434;
const OUTAGE_MS = 5_000;
/** Routed and recorded by the dialplan. */
const DIALPLAN_DID = '+15551290000';
/** Two-channel recording: run by the router over ARI. */
const ARI_DID = '+15551290001';
/** Added by a test, with a route plan. */
const PLAN_DID = '+15551290002';

interface CallDto extends CallRecordDto {
  source: string | null;
  nodeId: string;
  inboundChannelId: string;
  recordingStatus: string;
}

let postgres: PostgresServer;
let stack: CallflowStack;
let accountId: number;

const callsAfter = async (id: number): Promise<CallDto[]> =>
  (await stack.api.call<{ calls: CallDto[] }>('GET', '/v1/calls?limit=50')).body.calls.filter((c) => c.id > id);

/** A carrier call to `did` answered by the phone; the caller hangs up after `holdMs`. Not awaited: the handles. */
function startCall(did: string, holdMs: number) {
  const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: holdMs + 30_000, ...PHONE_PORTS });
  const call = startSipp({ role: 'uac', scenario: 'carrier-call-answered-hangs-up', remote: '127.0.0.1:5060', caller: '+15559876543', dialed: did, holdMs, timeoutMs: holdMs + 30_000, ...CARRIER_PORTS });
  return {
    async done(): Promise<void> {
      const [c, d] = await Promise.all([call.done, dest.done]);
      expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
      expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    },
  };
}

/** Waits until the newest call after `before` is up in Asterisk (answered: its caller channel Up). */
async function answered(before: number): Promise<void> {
  await waitFor(
    async () => {
      const up = new Set((await listChannels(stack.config)).filter((c) => c.state === 'Up').map((c) => c.id));
      return (await callsAfter(before)).some((c) => up.has(c.inboundChannelId));
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'the call to be answered' },
  );
}

describe('the router on PostgreSQL', () => {
  beforeAll(async () => {
    postgres = startPostgres(POSTGRES_PORT);
    // The server's own database: the router migrates it at its start.
    stack = await startCallflowStack({ instance: 'pg', httpPort: HTTP_PORT, env: { CALLROUTE_DB_URL: postgres.url } });
    ({ accountId } = await stack.addNumbers([
      { did: DIALPLAN_DID, recordingEnabled: true, source: 'google' },
      { did: ARI_DID, recordingEnabled: true, recordingChannels: 'dual', source: 'bing' },
    ]));
  }, 150_000);

  useStackHooks(() => stack);
  afterAll(() => postgres?.stop());

  for (const [kind, did, handedOff, source] of [
    ['the dialplan runs', DIALPLAN_DID, true, 'google'],
    ['the router runs over ARI', ARI_DID, false, 'bing'],
  ] as const) {
    it(`a call ${kind}: its record (with the number's source and this node) and its recording are in PostgreSQL`, async () => {
      const before = await stack.newestCallId();
      await stack.answeredCall(did, 2_000);
      const record = await stack.finishedCall<CallDto>(before, 20_000);
      expect(record).toMatchObject({ did, disposition: 'answered', endedBy: 'caller', dialplanHandOff: handedOff, source, nodeId: 'node-pg' });
      expect(record.talkSeconds).toBeGreaterThan(1.5);
      expect(record.inboundChannelId).toMatch(/^node-pg-\d+\.\d+$/);
      expect((await stack.finishedRecordings(record.id)).map((r) => r.status)).toEqual(['ready']);
      expect(Number(postgres.query(`select count(*) from calls where id = ${record.id} and node_id = 'node-pg'`))).toBe(1);
    }, 60_000);
  }

  it('a number with a route plan made through the API just before: the call rings the plan (read from memory), its record names the step', async () => {
    const plan = await stack.api.call<{ id: number }>('POST', '/v1/route-plans', {
      accountId, name: 'office', timeZone: 'America/New_York', final: { kind: 'reject', sipCode: 480 },
      steps: [{ name: 'desk', strategy: 'sequential', ringTimeoutSeconds: 10, destinations: [{ target: '+15550001111' }] }],
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const n = await stack.api.call('POST', '/v1/tracking-numbers', { accountId, did: PLAN_DID, destination: '+15550001111', routePlanId: plan.body.id });
    expect(n.status, JSON.stringify(n.body)).toBe(201);
    const before = await stack.newestCallId();
    await stack.answeredCall(PLAN_DID, 1_500);
    const record = await stack.finishedCall<CallDto & { routeStep: string | null }>(before, 20_000);
    expect(record).toMatchObject({ did: PLAN_DID, disposition: 'answered', endedBy: 'caller', dialplanHandOff: false, routeStep: 'desk' });
  }, 60_000);

  it('PostgreSQL stopped for 5 s while calls of both kinds connect, talk and end: every call connects, and their records and recordings are written when it is back', async () => {
    const before = await stack.newestCallId();
    postgres.halt();
    const haltedAt = Date.now();
    let resumed = false;
    const resume = (): void => {
      if (resumed) return;
      resumed = true;
      postgres.resume();
    };
    const timer = setTimeout(resume, OUTAGE_MS);
    try {
      await startCall(DIALPLAN_DID, 1_000).done();
      await startCall(ARI_DID, 1_000).done();
    } finally {
      clearTimeout(timer);
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - haltedAt))));
      resume();
    }
    await waitFor(async () => (await callsAfter(before)).filter((c) => c.finished).length === 2, { timeoutMs: 30_000, intervalMs: 200, message: 'both records written and finished' });
    const calls = await callsAfter(before);
    expect(calls.map((c) => [c.did, c.disposition, c.endedBy, c.dialplanHandOff]).sort()).toEqual([
      [DIALPLAN_DID, 'answered', 'caller', true],
      [ARI_DID, 'answered', 'caller', false],
    ]);
    for (const call of calls) {
      expect(call.talkSeconds).toBeGreaterThan(0.5);
      expect((await stack.finishedRecordings(call.id)).map((r) => r.status)).toEqual(['ready']);
    }
    expect(stack.router.logs()).toContain('database unreachable; the call record write waits and is tried again');
  }, 90_000);

  for (const [kind, did, handedOff] of [
    ['handed to the dialplan', DIALPLAN_DID, true],
    ['bridged by the router', ARI_DID, false],
  ] as const) {
    it(`the router killed while a call is up (${kind}): the call keeps talking, and after the restart its one record is finished exactly`, async () => {
      const before = await stack.newestCallId();
      const call = startCall(did, 8_000);
      await answered(before);
      // The writes behind the call have had their moment (the answer), then the process is gone.
      await new Promise((r) => setTimeout(r, 500));
      await stack.router.stop('SIGKILL');
      await stack.startRouter();
      await call.done();
      await waitFor(async () => (await callsAfter(before)).some((c) => c.finished), { timeoutMs: 20_000, intervalMs: 200, message: 'the record finished' });
      const calls = await callsAfter(before);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ did, disposition: 'answered', endedBy: 'caller', reconciled: false, dialplanHandOff: handedOff });
      expect(calls[0]?.talkSeconds).toBeGreaterThan(7);
      expect((await stack.finishedRecordings(calls[0]!.id)).map((r) => r.status)).toEqual(['ready']);
    }, 60_000);
  }

  it('a call the dialplan routed ends while the router is down: the next start writes its record from the end report, and a start after that adds none', async () => {
    const before = await stack.newestCallId();
    const call = startCall(DIALPLAN_DID, 2_000);
    await answered(before);
    await stack.router.stop('SIGKILL');
    await call.done();
    await stack.startRouter();
    await waitFor(async () => (await callsAfter(before)).some((c) => c.finished), { timeoutMs: 20_000, intervalMs: 200, message: 'the record finished' });
    // The report file is read again from its start by the next run: the record it names is known.
    await stack.router.stop('SIGKILL');
    await stack.startRouter();
    await new Promise((r) => setTimeout(r, 1_500));
    const calls = await callsAfter(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ did: DIALPLAN_DID, disposition: 'answered', endedBy: 'caller', reconciled: false, dialplanHandOff: true });
    expect(calls[0]?.talkSeconds).toBeGreaterThan(1.5);
  }, 60_000);
});

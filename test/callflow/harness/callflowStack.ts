/**
 * The whole system as a call-flow test drives it: a sandbox Asterisk instance of its own, the
 * router as a separate process on its own HTTP port, a temp directory for the database and the
 * recordings, and the admin API. One per test file.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, onTestFailed } from 'vitest';
import { loadConfig, type Config } from '../../../src/config/loadConfig.js';
import { startAsterisk, type AsteriskHandle } from '../../../scripts/asterisk-sandbox.js';
import { dialplanHookSecret } from '../../../src/telephony/dialplanHook/dialplanHookSecret.js';
import { expectNoChannelsOrBridges } from './asteriskState.js';
import { requirePrivateNetwork } from './requirePrivateNetwork.js';
import { describeSipp, startSipp } from './sipp.js';
import { adminApi, clearEndReports, routerConnected, startRouter, type RouterOptions, type RouterProcess } from './routerProcess.js';
import { waitFor } from './waitFor.js';

export const ADMIN_TOKEN = 'callflow-admin-token-0123456789abcdef';

export interface CallSummary {
  id: number;
  did: string;
  finished: boolean;
  answeredAt: string | null;
}

/** The fields of a call record the fault suites check. */
export interface CallRecordDto extends CallSummary {
  disposition: string | null;
  endedBy: string | null;
  hangupCause: number | null;
  talkSeconds: number | null;
  reconciled: boolean;
  dialplanHandOff: boolean;
}

/** sipp's ports as the carrier (CARRIER_ADDRESS) and as the destination phone (OUTBOUND_TRUNK_ADDRESS). */
export const CARRIER_PORTS = { localPort: 5070, mediaPort: 6000, controlPort: 8871 } as const;
/** Where the fault suites' tracking numbers forward to (the phone on PHONE_PORTS answers it). */
export const DEMO_DESTINATION = '+15550001111';
export const PHONE_PORTS = { localPort: 5080, mediaPort: 6100, controlPort: 8872 } as const;

export interface RecordingSummary {
  status: string;
  statusReason?: string | null;
  durationSeconds: number | null;
}

export interface CallflowStack {
  dir: string;
  env: Record<string, string>;
  config: Config;
  asterisk: AsteriskHandle;
  readonly router: RouterProcess;
  api: ReturnType<typeof adminApi>;
  baseUrl: string;
  /** Starts the router again (after a stop or crash), with extra environment for this run. */
  startRouter(extra?: Record<string, string>, opts?: RouterOptions): Promise<void>;
  restartRouter(extra?: Record<string, string>): Promise<void>;
  newestCallId(): Promise<number>;
  /** The newest call record once it is newer than `previousId` and finished. */
  finishedCall<T extends CallSummary>(previousId: number, timeoutMs?: number): Promise<T>;
  /** The call's recordings once none is still recording or processing (status ready, missing, failed...). */
  finishedRecordings(callId: number, timeoutMs?: number): Promise<RecordingSummary[]>;
  /** /health says the router is connected to Asterisk. */
  routerConnected(): Promise<boolean>;
  /** An account and tracking numbers in it to the demo destination (each: did, and any other number field). */
  addNumbers(numbers: readonly Record<string, unknown>[]): Promise<{ accountId: number }>;
  /**
   * A call from the carrier to `did`, answered by the phone on the outbound trunk and hung up by
   * the caller after `holdMs`; resolves when both sipps are done, each having exited 0.
   */
  answeredCall(did: string, holdMs: number): Promise<void>;
  /** In a beforeEach: print the router's log tail when the test fails. */
  logRouterOnFailure(): void;
  stop(): Promise<void>;
}

export async function startCallflowStack(opts: { instance: string; httpPort: number; env?: Record<string, string> }): Promise<CallflowStack> {
  requirePrivateNetwork();
  const dir = mkdtempSync(join(tmpdir(), `callroute-${opts.instance}-`));
  const env: Record<string, string> = {
    CALLROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
    ARI_PASSWORD: 'callflow-secret',
    CALLROUTE_DB_PATH: join(dir, 'calls.db'),
    CALLROUTE_HTTP_PORT: String(opts.httpPort),
    RECORDINGS_DIR: join(dir, 'recordings'),
    PRIVACY_EXPORTS_DIR: join(dir, 'exports'),
    PRIVACY_ERASURE_LIST: join(dir, 'erasures.jsonl'),
    FALLBACK_MODE: 'reject',
    FALLBACK_SIP_CODE: '503',
    // The test run itself keeps the machine busy at times; recordings must not wait the default 2 min.
    TRANSCODE_MAX_DEFER_SECONDS: '3',
    // A node name of its own: Asterisk's channel ids carry it (systemname), records store it.
    NODE_ID: `node-${opts.instance}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 32),
    ...opts.env,
  };
  const config = loadConfig(env);
  const asterisk = await startAsterisk(config, { instance: opts.instance });
  env.ASTERISK_FS_ROOT = asterisk.rootDir;
  // The database is new: reports of calls from an earlier run of this sandbox are not its calls.
  clearEndReports(asterisk.rootDir);
  const baseUrl = `http://127.0.0.1:${opts.httpPort}`;
  const api = adminApi(baseUrl, ADMIN_TOKEN);
  let router: RouterProcess | undefined;

  const stack: CallflowStack = {
    dir,
    env,
    config,
    asterisk,
    get router(): RouterProcess {
      if (!router) throw new Error('router not started');
      return router;
    },
    api,
    baseUrl,
    async startRouter(extra = {}, routerOpts = {}) {
      router = startRouter({ ...env, ...extra }, routerOpts);
      await router.ready();
    },
    async restartRouter(extra = {}) {
      await router?.stop();
      await stack.startRouter(extra);
    },
    async newestCallId() {
      const res = await api.call<{ calls: CallSummary[] }>('GET', '/v1/calls?limit=1');
      return res.body.calls[0]?.id ?? 0;
    },
    async finishedCall<T extends CallSummary>(previousId: number, timeoutMs = 15_000): Promise<T> {
      let last: T | undefined;
      await waitFor(
        async () => {
          last = (await api.call<{ calls: T[] }>('GET', '/v1/calls?limit=1')).body.calls[0];
          return last !== undefined && last.id > previousId && last.finished;
        },
        { timeoutMs, intervalMs: 100, message: 'the call record to be finished' },
      );
      return last as T;
    },
    async finishedRecordings(callId: number, timeoutMs = 30_000) {
      let recs: RecordingSummary[] = [];
      await waitFor(
        async () => {
          recs = (await api.call<{ recordings: RecordingSummary[] }>('GET', `/v1/calls/${callId}/recordings`)).body.recordings;
          return recs.length > 0 && recs.every((r) => r.status !== 'recording' && r.status !== 'processing');
        },
        { timeoutMs, intervalMs: 200, message: `the recordings of call ${callId} to be finished (last: ${JSON.stringify(recs)})` },
      );
      return recs;
    },
    routerConnected: () => routerConnected(baseUrl),
    async addNumbers(numbers) {
      const account = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
      for (const n of numbers) {
        const res = await api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, destination: DEMO_DESTINATION, ...n });
        if (res.status !== 201) throw new Error(`tracking number ${JSON.stringify(n)}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      return { accountId: account.body.id };
    },
    async answeredCall(did, holdMs) {
      const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: holdMs + 25_000, ...PHONE_PORTS });
      const call = startSipp({ role: 'uac', scenario: 'carrier-call-answered-hangs-up', remote: '127.0.0.1:5060', caller: '+15559876543', dialed: did, holdMs, timeoutMs: holdMs + 25_000, ...CARRIER_PORTS });
      const [c, d] = await Promise.all([call.done, dest.done]);
      if (c.exitCode !== 0) throw new Error(describeSipp('carrier', c));
      if (d.exitCode !== 0) throw new Error(describeSipp('destination', d));
    },
    logRouterOnFailure() {
      onTestFailed(() => {
        process.stderr.write(`--- router log (tail)\n${router?.logs().slice(-8000) ?? '(not started)'}\n`);
      });
    },
    async stop() {
      await router?.stop();
      await asterisk.stop();
    },
  };
  await stack.startRouter();
  return stack;
}

/**
 * The hooks every call-flow suite has: the router's log on a failed test, "no channels or bridges
 * left in Asterisk" and no secret in the router's debug log after each test, and the stack
 * stopped at the end.
 */
export function useStackHooks(stack: () => CallflowStack | undefined): void {
  beforeEach(() => stack()?.logRouterOnFailure());
  afterEach(async () => {
    const s = stack();
    if (!s) return;
    await expectNoChannelsOrBridges(s.config, 8_000);
    const logs = s.router.logs();
    for (const [name, secret] of [
      ['the admin token', s.config.adminToken],
      ['the ARI password', s.config.ari.password],
      ['the dialplan door secret', dialplanHookSecret(s.config.ari.password)],
    ] as const) {
      if (logs.includes(secret)) throw new Error(`the router's log holds ${name}`);
    }
    // Nor a caller's number (the suites' callers are +15559876543): calls are logged by call id, so a
    // privacy erasure has nothing to chase in the logs.
    const callerLine = logs.split('\n').find((l) => l.includes('9876543'));
    if (callerLine) throw new Error(`the router's log holds a caller's number: ${callerLine.slice(0, 400)}`);
  });
  afterAll(async () => {
    await stack()?.stop();
  });
}

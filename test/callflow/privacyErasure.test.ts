/**
 * Privacy with real calls through Asterisk and the real router.
 *
 * A real call's recording is made and transcoded by the real router; an export of the caller holds
 * it in a ZIP behind a signed link; then an erasure through the API, after which the database file
 * (and its WAL), the recordings and exports directories, Asterisk's spool and log directories and the
 * router's log are scanned for the caller's number in the usual spellings, finding nothing. The
 * report totals are the same before and after.
 *
 * A caller on the do-not-record list (a number Asterisk's dialplan dials and records itself) and a
 * restricted caller (a two-channel number, which the router runs over ARI with snoop recordings):
 * both calls are routed and answered, neither leaves a recording row or a file anywhere.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness/waitFor.js';
import { startCallflowStack, useStackHooks, type CallflowStack, type CallSummary } from './harness/callflowStack.js';

const DID = '+15551250000';
/** Recorded on two channels: the router runs its calls (Stasis), not the dialplan. */
const DUAL_DID = '+15551250001';
/** answeredCall's caller (the carrier's sipp): +15559876543. Its last seven digits are in every spelling. */
const NEEDLES = ['9876543', '987-6543', '987 6543'];

let stack: CallflowStack;
let accountId: number;

/** Every file under `dir` whose name or bytes hold one of the needles. */
function filesHolding(dir: string, needles: readonly string[]): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const text = readFileSync(path).toString('latin1');
    for (const n of needles) if (name.includes(n) || text.includes(n)) out.push(`${path} (${n})`);
  }
  return out;
}

describe('privacy erasure after a real call', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'privacy', httpPort: 8092 });
    ({ accountId } = await stack.addNumbers([{ did: DID }, { did: DUAL_DID, recordingChannels: 'dual' }]));
  }, 120_000);

  useStackHooks(() => stack);

  it('leaves the caller’s number in no file of the database, the recordings, Asterisk’s spool and logs, or the router’s log', async () => {
    const before = await stack.newestCallId();
    await stack.answeredCall(DID, 2_000);
    const call = await stack.finishedCall<CallSummary & { accountId: number; callerNumber: string | null }>(before);
    expect(call.callerNumber).toBe('+15559876543');
    const recs = await stack.finishedRecordings(call.id);
    expect(recs.map((r) => r.status)).toEqual(['ready']);
    const reportUrl = `/v1/reports/calls?groupBy=source&accountId=${call.accountId}&from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`;
    const reportBefore = (await stack.api.call<{ totals: unknown; rows: unknown }>('GET', reportUrl)).body;
    // The product's files only (the test's own sipp traces under the same directory hold the number, of course).
    const dbPath = stack.env.CALLROUTE_DB_PATH!;
    const dbFiles = () => [dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
    const inDb = () => dbFiles().flatMap((f) => NEEDLES.filter((n) => readFileSync(f).toString('latin1').includes(n)).map((n) => `${f} (${n})`));
    // The number is where it should be before the erasure: the scan can see it.
    expect(inDb().length).toBeGreaterThan(0);

    // An export first: one ZIP with the call and its real recording's audio, behind a signed link.
    const exported = await stack.api.call<{ download: { url: string }; request: { result: Record<string, unknown> } }>('POST', '/v1/privacy/requests', {
      kind: 'export',
      callerNumber: '+15559876543',
    });
    expect(exported.status, JSON.stringify(exported.body)).toBe(201);
    expect(exported.body.request.result).toMatchObject({ calls: 1, recordings: 1, audioFiles: 1 });
    const link = new URL(exported.body.download.url);
    const zip = await fetch(`${stack.baseUrl}${link.pathname}${link.search}`);
    expect(zip.status).toBe(200);
    const zipPath = join(stack.dir, 'downloaded-export.zip');
    writeFileSync(zipPath, Buffer.from(await zip.arrayBuffer()));
    const listing = execFileSync('unzip', ['-Z', '-l', zipPath]).toString();
    const audio = /^\S+\s+\S+\s+\S+\s+(\d+)\s.*recordings\/call-\d+-recording-\d+\.mp3$/m.exec(listing);
    expect(audio, listing).not.toBeNull();
    expect(Number(audio![1])).toBeGreaterThan(4_000);
    rmSync(zipPath);

    const res = await stack.api.call<{ request: { result: Record<string, unknown> } }>('POST', '/v1/privacy/requests', {
      kind: 'erasure',
      callerNumber: '(555) 987-6543',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.request.result).toMatchObject({ calls: 1, recordings: 1, visits: 0 });
    expect(Number(res.body.request.result.filesDeleted)).toBeGreaterThanOrEqual(1);
    expect(res.body.request.result.exportsDeleted).toBe(1);

    const after = await stack.api.call<{ callerNumber: string; recordingStatus: string }>('GET', `/v1/calls/${call.id}`);
    expect(after.body.callerNumber).toMatch(/^erased:/);
    expect(after.body.recordingStatus).toBe('deleted');
    const reportAfter = (await stack.api.call<{ totals: unknown; rows: unknown }>('GET', reportUrl)).body;
    expect(reportAfter).toEqual(reportBefore);

    // The end reports of dialplan-run calls hold the caller's number until the router has read them and
    // moved the file aside: seconds (createEndReportTail's rotateAfterMs plus the grace period).
    const spool = join(stack.asterisk.rootDir, 'var', 'spool', 'asterisk');
    await waitFor(() => filesHolding(spool, NEEDLES).length === 0, { timeoutMs: 15_000, intervalMs: 250, message: 'the end report file moved aside and removed' });
    const found = [
      // The database file and its WAL, and the router's recordings directory.
      ...inDb(),
      ...filesHolding(stack.env.RECORDINGS_DIR!, NEEDLES),
      ...filesHolding(stack.env.PRIVACY_EXPORTS_DIR!, NEEDLES),
      // Asterisk's recordings spool and its logs, inside the sandbox.
      ...filesHolding(spool, NEEDLES),
      ...filesHolding(join(stack.asterisk.rootDir, 'var', 'log', 'asterisk'), NEEDLES),
    ];
    expect(found).toEqual([]);
    const lines = stack.router.logs().split('\n');
    for (const n of NEEDLES) expect(lines.filter((l) => l.includes(n)), `the router's log lines holding ${n}`).toEqual([]);
  }, 90_000);

  /** Every file in Asterisk's recording spool and the router's recordings directory. */
  const recordingFiles = (): string[] => [
    ...readdirSync(join(stack.asterisk.rootDir, 'var', 'spool', 'asterisk', 'recording')).map(String),
    ...(statSync(stack.env.RECORDINGS_DIR!, { throwIfNoEntry: false }) ? readdirSync(stack.env.RECORDINGS_DIR!, { recursive: true }).map(String) : []),
  ];

  /** A real answered call to `did` that is routed (answered, talked) and leaves no recording. */
  async function expectRoutedUnrecorded(did: string, path: { dialplanHandOff: boolean }): Promise<CallSummary & Record<string, unknown>> {
    const filesBefore = recordingFiles();
    const before = await stack.newestCallId();
    await stack.answeredCall(did, 1_500);
    const call = await stack.finishedCall<CallSummary & Record<string, unknown>>(before);
    expect(call).toMatchObject({ did, disposition: 'answered', recordingStatus: 'none', ...path });
    expect(Number(call.talkSeconds)).toBeGreaterThan(1);
    // Long enough for a recording to be registered and handed on, had one been made.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await stack.api.call<{ recordings: unknown[] }>('GET', `/v1/calls/${call.id}/recordings`)).body.recordings).toEqual([]);
    expect(recordingFiles().filter((f) => !filesBefore.includes(f))).toEqual([]);
    return call;
  }

  it('a caller on the do-not-record list is routed by the dialplan and not recorded: no row, no file', async () => {
    const added = await stack.api.call<{ id: number }>('POST', `/v1/accounts/${accountId}/do-not-record`, { callerNumber: '555 987 6543' });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    await expectRoutedUnrecorded(DID, { dialplanHandOff: true });
    // Off the list, the next call is recorded again (the table entry went with the API's answer).
    expect((await stack.api.call('DELETE', `/v1/accounts/${accountId}/do-not-record/${added.body.id}`)).status).toBe(204);
    const before = await stack.newestCallId();
    await stack.answeredCall(DID, 1_500);
    const call = await stack.finishedCall(before);
    expect((await stack.finishedRecordings(call.id)).map((r) => r.status)).toEqual(['ready']);
  }, 90_000);

  it('a restricted caller’s call is routed by the router over ARI and not recorded; the record is marked restricted', async () => {
    const res = await stack.api.call<{ request: { result: Record<string, unknown> } }>('POST', '/v1/privacy/requests', { kind: 'restriction', callerNumber: '+15559876543', accountId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const call = await expectRoutedUnrecorded(DUAL_DID, { dialplanHandOff: false });
    expect(call).toMatchObject({ restricted: true, firstTimeCaller: null });
    // The dialplan's path too: the table's entry for the caller keeps MixMonitor off.
    await expectRoutedUnrecorded(DID, { dialplanHandOff: true });
    await stack.api.call('POST', '/v1/privacy/requests', { kind: 'lift-restriction', callerNumber: '+15559876543', accountId });
  }, 90_000);
});


/**
 * A privacy erasure after a real call through Asterisk: the caller's recording is made and transcoded
 * by the real router, then erased through the API; the database file (and its WAL), the recordings
 * directory, Asterisk's spool and log directories and the router's log are scanned for the caller's
 * number in the usual spellings, finding nothing. The report totals are the same before and after.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness/waitFor.js';
import { startCallflowStack, useStackHooks, type CallflowStack, type CallSummary } from './harness/callflowStack.js';

const DID = '+15551250000';
/** answeredCall's caller (the carrier's sipp): +15559876543. Its last seven digits are in every spelling. */
const NEEDLES = ['9876543', '987-6543', '987 6543'];

let stack: CallflowStack;

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
    await stack.addNumbers([{ did: DID }]);
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

    const res = await stack.api.call<{ request: { result: Record<string, unknown> } }>('POST', '/v1/privacy/requests', {
      kind: 'erasure',
      callerNumber: '(555) 987-6543',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.request.result).toMatchObject({ calls: 1, recordings: 1, visits: 0 });
    expect(Number(res.body.request.result.filesDeleted)).toBeGreaterThanOrEqual(1);

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
      // Asterisk's recordings spool and its logs, inside the sandbox.
      ...filesHolding(spool, NEEDLES),
      ...filesHolding(join(stack.asterisk.rootDir, 'var', 'log', 'asterisk'), NEEDLES),
    ];
    expect(found).toEqual([]);
    const lines = stack.router.logs().split('\n');
    for (const n of NEEDLES) expect(lines.filter((l) => l.includes(n)), `the router's log lines holding ${n}`).toEqual([]);
  }, 90_000);
});

import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelsOnReportFiles, createEndReportTail, type EndReportTail } from '../../src/telephony/dialplanHook/createEndReportTail.js';
import type { DialplanEndReport, DialplanRefusal } from '../../src/telephony/session/DialplanCall.js';
import { waitFor } from '../callflow/harness/waitFor.js';

/** One line as the hangup handler in extensions.conf appends it. */
const line = (id: string, fields: string): string => `${id} ${fields}\n`;
const ANSWERED =
  'dialstatus=ANSWER&answered_ms=4200&dialed_ms=9100&dial_returned=&cause=16&number=7&dialed=5551230000&caller=%2B15559876543&caller_name=Pat%20O%27Neil%2C%20Jr&route=cr~30~r~%2B15550001111~&ended_at=1763865700.250&sip_call_id=a84b4c76e66710%40pc33.atlanta.example.com';

describe('the end report file (hangup handlers append, the router reads)', () => {
  let dir: string;
  let file: string;
  let tail: EndReportTail | undefined;
  let applied: Array<{ id: string; report: DialplanEndReport }>;
  let refused: Array<{ id: string; refusal: DialplanRefusal }>;

  const start = (opts: { rotateBytes?: number; rotateGraceMs?: number; rotateAfterMs?: number } = {}): EndReportTail => {
    tail = createEndReportTail({
      file,
      apply: (id, report) => applied.push({ id, report }),
      refused: (id, refusal) => refused.push({ id, refusal }),
      logger: pino({ level: 'silent' }),
      pollMs: 20,
      ...opts,
    });
    tail.start();
    return tail;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'end-reports-'));
    file = join(dir, 'callroute-ended.log');
    applied = [];
    refused = [];
  });
  afterEach(() => {
    tail?.stop();
    tail = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a report carries how the call ended and who called which number', () => {
    writeFileSync(file, line('1763865693.12', ANSWERED));
    start();
    expect(applied).toEqual([
      {
        id: '1763865693.12',
        report: {
          dialStatus: 'ANSWER',
          answeredMs: 4200,
          dialReturned: false,
          cause: 16,
          endedAt: 1763865700250,
          dialedMs: 9100,
          route: {
            numberId: 7,
            dialed: '5551230000',
            callerNumber: '+15559876543',
            callerName: "Pat O'Neil, Jr",
            extension: 'cr~30~r~+15550001111~',
            sipCallId: 'a84b4c76e66710@pc33.atlanta.example.com',
          },
        },
      },
    ]);
  });

  it('a refusal line (a call the dialplan refused over a cap) is told apart from end reports', () => {
    writeFileSync(
      file,
      line('1763865693.13', 'refused=busy&dialed=5551230000&exten=5551230000&caller=%2B15559876543&caller_name=Pat&sip_call_id=3848276298220188511%40atlanta.example.com&at=1763865693.125') +
        line('1763865693.14', 'refused=over&dialed=&exten=%2B15551230000&caller=&caller_name=&at=1763865694.000') +
        line('1763865693.15', ANSWERED),
    );
    start();
    expect(refused).toEqual([
      {
        id: '1763865693.13',
        refusal: { reason: 'busy', dialed: '5551230000', callerNumber: '+15559876543', callerName: 'Pat', at: 1763865693125, sipCallId: '3848276298220188511@atlanta.example.com' },
      },
      // No DNID on the channel: the extension dialed says which number. No Call-ID: null.
      { id: '1763865693.14', refusal: { reason: 'over', dialed: '+15551230000', callerNumber: '', callerName: '', at: 1763865694000, sipCallId: null } },
    ]);
    expect(applied.map((a) => a.id)).toEqual(['1763865693.15']);
  });

  it('reads lines appended after the start, and a line only once it is whole', async () => {
    start();
    expect(applied).toEqual([]);
    appendFileSync(file, line('1.1', 'dialstatus=BUSY&cause=17'));
    appendFileSync(file, '1.2 dialstatus=ANS');
    await waitFor(() => applied.length === 1, { timeoutMs: 2_000, intervalMs: 10, message: 'the first report' });
    await new Promise((r) => setTimeout(r, 100));
    expect(applied.map((a) => a.id)).toEqual(['1.1']);
    appendFileSync(file, 'WER&cause=16\n');
    await waitFor(() => applied.length === 2, { timeoutMs: 2_000, intervalMs: 10, message: 'the second report' });
    expect(applied[1]).toMatchObject({ id: '1.2', report: { dialStatus: 'ANSWER', cause: 16 } });
  });

  it('the file written while the router was away (or before a restart) is read whole at the start', () => {
    writeFileSync(file, line('1.1', 'dialstatus=ANSWER') + line('1.2', 'dialstatus=BUSY'));
    start().stop();
    // A second start reads every line again: taking a report twice is the registry's to ignore.
    start();
    expect(applied.map((a) => a.id)).toEqual(['1.1', '1.2', '1.1', '1.2']);
  });

  it('drain() reads what is there now, without waiting for the poll', () => {
    start();
    appendFileSync(file, line('2.1', 'dialstatus=CANCEL'));
    tail?.drain();
    expect(applied.map((a) => a.id)).toEqual(['2.1']);
  });

  it('moves a full file aside: an append that lands in the old one just after the move is still read, then it is removed', async () => {
    start({ rotateBytes: 100, rotateGraceMs: 150 });
    const aside = (): string[] => readdirSync(dir).filter((n) => n !== 'callroute-ended.log');
    appendFileSync(file, line('3.1', `dialstatus=ANSWER&pad=${'x'.repeat(120)}`));
    await waitFor(() => aside().length === 1, { timeoutMs: 2_000, intervalMs: 5, message: 'the file moved aside' });
    // Asterisk opened the old file before the move.
    appendFileSync(join(dir, aside()[0] as string), line('3.2', 'dialstatus=BUSY'));
    appendFileSync(file, line('3.3', 'dialstatus=NOANSWER'));
    await waitFor(() => applied.length === 3, { timeoutMs: 2_000, intervalMs: 10, message: 'all three reports' });
    expect(applied.map((a) => a.id).sort()).toEqual(['3.1', '3.2', '3.3']);
    await waitFor(() => aside().length === 0, { timeoutMs: 2_000, intervalMs: 10, message: 'the old file removed' });
  });

  it('moves even a small file aside soon after its first line was read, so callers’ numbers do not stay on disk', async () => {
    start({ rotateAfterMs: 100, rotateGraceMs: 50 });
    appendFileSync(file, line('6.1', ANSWERED));
    await waitFor(() => applied.length === 1, { timeoutMs: 2_000, intervalMs: 10, message: 'the report' });
    await waitFor(() => readdirSync(dir).length === 0, { timeoutMs: 2_000, intervalMs: 10, message: 'the file gone' });
    // The next line starts a new file, read as usual.
    appendFileSync(file, line('6.2', 'dialstatus=BUSY'));
    await waitFor(() => applied.length === 2, { timeoutMs: 2_000, intervalMs: 10, message: 'the next report' });
  });

  it('files moved aside before a stop are read at the next start, before the current one', () => {
    writeFileSync(`${file}.1763865000000-1`, line('4.1', 'dialstatus=ANSWER'));
    writeFileSync(file, line('4.2', 'dialstatus=BUSY'));
    start();
    expect(applied.map((a) => a.id)).toEqual(['4.1', '4.2']);
    expect(existsSync(`${file}.1763865000000-1`)).toBe(false);
  });

  it('a report whose record cannot be written now is applied again, before the ones after it, and its file stays until it is', async () => {
    const away = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    let databaseAway = true;
    tail = createEndReportTail({
      file,
      apply: (id, report) => {
        if (databaseAway) throw away;
        applied.push({ id, report });
      },
      refused: (id, refusal) => refused.push({ id, refusal }),
      logger: pino({ level: 'silent' }),
      pollMs: 20,
      rotateAfterMs: 50,
      rotateGraceMs: 20,
      isRetryable: (err) => err === away,
    });
    tail.start();
    appendFileSync(file, line('7.1', 'dialstatus=ANSWER'));
    appendFileSync(file, line('7.2', 'dialstatus=BUSY'));
    await new Promise((r) => setTimeout(r, 400));
    // Nothing skipped, nothing removed: a restart now would read both again.
    expect(applied).toEqual([]);
    expect(readdirSync(dir)).toHaveLength(1);
    databaseAway = false;
    await waitFor(() => applied.length === 2, { timeoutMs: 5_000, intervalMs: 10, message: 'both reports once the database is back' });
    expect(applied.map((a) => a.id)).toEqual(['7.1', '7.2']);
    await waitFor(() => readdirSync(dir).length === 0, { timeoutMs: 2_000, intervalMs: 10, message: 'the file gone once both are written' });
  });

  it('records written behind the call (PostgreSQL): a file read is removed only once the writes its lines queued are applied', async () => {
    // The writer's marks: every applied line queues one write; `applied` says how many are done.
    let queued = 0;
    let done = 0;
    tail = createEndReportTail({
      file,
      apply: (id, report) => {
        applied.push({ id, report });
        queued += 1;
      },
      refused: () => undefined,
      logger: pino({ level: 'silent' }),
      pollMs: 20,
      rotateAfterMs: 50,
      rotateGraceMs: 20,
      writesApplied: { mark: () => queued, appliedThrough: (mark) => done >= mark },
    });
    tail.start();
    appendFileSync(file, line('9.1', 'dialstatus=ANSWER'));
    appendFileSync(file, line('9.2', 'dialstatus=BUSY'));
    await waitFor(() => applied.length === 2, { timeoutMs: 2_000, intervalMs: 10, message: 'both lines applied' });
    await new Promise((r) => setTimeout(r, 300));
    // Moved aside, and kept: a restart now would read both lines again.
    expect(readdirSync(dir).filter((n) => n.startsWith('callroute-ended.log.'))).toHaveLength(1);
    done = 1;
    await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(dir)).toHaveLength(1);
    done = 2;
    await waitFor(() => readdirSync(dir).length === 0, { timeoutMs: 2_000, intervalMs: 10, message: 'the file gone once both writes are applied' });
    expect(channelsOnReportFiles(file)).toEqual([]);
  });

  it('channelsOnReportFiles names the callers of every line on file, moved aside or not', () => {
    writeFileSync(`${file}.1-1`, line('1.1', 'dialstatus=ANSWER') + line('1.2', 'refused=busy'));
    writeFileSync(file, line('1.3', 'dialstatus=BUSY') + '1.4 dialstatus=AN');
    expect(channelsOnReportFiles(file)).toEqual(['1.1', '1.2', '1.3', '1.4']);
  });

  it('a report that fails for another reason (a bug, not the database) is logged and skipped, not retried forever', () => {
    writeFileSync(file, line('8.1', 'dialstatus=ANSWER') + line('8.2', 'dialstatus=BUSY'));
    let first = true;
    tail = createEndReportTail({
      file,
      apply: (id, report) => {
        if (first) {
          first = false;
          throw new TypeError('a bug');
        }
        applied.push({ id, report });
      },
      refused: () => undefined,
      logger: pino({ level: 'silent' }),
      isRetryable: () => false,
    });
    tail.start();
    expect(applied.map((a) => a.id)).toEqual(['8.2']);
  });

  it('no file yet: nothing read, and the first line appended later is', async () => {
    start();
    expect(applied).toEqual([]);
    appendFileSync(file, line('5.1', 'dialstatus=ANSWER'));
    await waitFor(() => applied.length === 1, { timeoutMs: 2_000, intervalMs: 10, message: 'the report' });
  });
});

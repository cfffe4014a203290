// The harness's pure parts: they decide what the call-flow tests and scripts/callflow-check.ts conclude,
// so they are tested without sipp or Asterisk (no network namespace needed).
import { describe, expect, it } from 'vitest';
import { parseSippMessages, receivedInviteFinalCodes, receivedInviteUsers, sippArgs } from './sipp.js';
import { waitFor } from './waitFor.js';

const crlf = (lines: string[]): string => lines.join('\r\n');

// The layout of sipp 3.6.1's -trace_msg log (messages themselves end lines with CRLF).
const uasLog = [
  '----------------------------------------------- 2026-11-23 00:26:12.486469',
  'UDP message received [855] bytes :',
  '',
  crlf([
    'INVITE sip:+15550001111@127.0.0.1:5080 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj1',
    'CSeq: 8527 INVITE',
    'Content-Length: 0',
    '',
    '',
  ]),
  '----------------------------------------------- 2026-11-23 00:26:12.486700',
  'UDP message sent (309 bytes):',
  '',
  crlf(['SIP/2.0 180 Ringing', 'CSeq: 8527 INVITE', 'Content-Length: 0', '', '']),
  '----------------------------------------------- 2026-11-23 00:26:15.000000',
  'UDP message received [400] bytes :',
  '',
  crlf(['BYE sip:127.0.0.1:5080 SIP/2.0', 'CSeq: 8528 BYE', 'Content-Length: 0', '', '']),
].join('\n');

const uacLog = [
  '----------------------------------------------- 2026-11-23 00:26:12.486909',
  'UDP message sent (635 bytes):',
  '',
  crlf(['INVITE sip:+15551230000@127.0.0.1:5060 SIP/2.0', 'CSeq: 1 INVITE', '', '']),
  '----------------------------------------------- 2026-11-23 00:26:12.5',
  'UDP message received [283] bytes :',
  '',
  crlf(['SIP/2.0 100 Trying', 'CSeq: 1 INVITE', '', '']),
  '----------------------------------------------- 2026-11-23 00:26:12.6',
  'UDP message received [441] bytes :',
  '',
  crlf(['SIP/2.0 200 OK', 'CSeq: 1 INVITE', '', '']),
  '----------------------------------------------- 2026-11-23 00:26:15.6',
  'UDP message received [300] bytes :',
  '',
  crlf(['SIP/2.0 200 OK', 'CSeq: 2 BYE', '', '']),
].join('\n');

describe('sipp trace parsing', () => {
  it('splits a -trace_msg log into messages with direction and start line', () => {
    const msgs = parseSippMessages(uasLog);
    expect(msgs.map((m) => [m.direction, m.startLine])).toEqual([
      ['received', 'INVITE sip:+15550001111@127.0.0.1:5080 SIP/2.0'],
      ['sent', 'SIP/2.0 180 Ringing'],
      ['received', 'BYE sip:127.0.0.1:5080 SIP/2.0'],
    ]);
  });

  it('finds the request-URI user of each INVITE a destination received', () => {
    expect(receivedInviteUsers(uasLog)).toEqual(['+15550001111']);
    expect(receivedInviteUsers(uacLog)).toEqual([]); // the carrier sent its INVITE, it did not receive one
    expect(receivedInviteUsers('')).toEqual([]);
  });

  it('lists final responses to INVITE only (not 1xx, not the 200 for BYE)', () => {
    expect(receivedInviteFinalCodes(uacLog)).toEqual([200]);
  });
});

describe('sippArgs', () => {
  it('binds everything to loopback, bounds the run, and passes DID, caller and hold time', () => {
    const args = sippArgs(
      { scenario: 'carrier-call-answered-hangs-up', role: 'uac', localPort: 5070, mediaPort: 30000, controlPort: 8891, remote: '127.0.0.1:5060', dialed: '+15551230000', caller: '+15559876543', holdMs: 3000, timeoutMs: 20_500 },
      '/tmp/x',
    );
    const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect(args[0]).toBe('127.0.0.1:5060');
    expect(after('-sf')).toMatch(/test\/callflow\/scenarios\/carrier-call-answered-hangs-up\.xml$/);
    expect([after('-i'), after('-mi'), after('-ci')]).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect([after('-p'), after('-mp'), after('-cp'), after('-m')]).toEqual(['5070', '30000', '8891', '1']);
    expect([after('-s'), after('-d'), after('-timeout')]).toEqual(['+15551230000', '3000', '21s']);
    expect(args.slice(args.indexOf('-key'), args.indexOf('-key') + 3)).toEqual(['-key', 'caller', '+15559876543']);
    expect(args).toContain('-timeout_error');
    expect(after('-message_file')).toBe('/tmp/x/messages.log');
  });

  it('gives a UAS no remote and no caller, and refuses a UAC without a remote', () => {
    const uas = sippArgs({ scenario: 'destination-answers', role: 'uas', localPort: 5080, mediaPort: 30100, controlPort: 8892, timeoutMs: 1000 }, '/tmp/y');
    expect(uas[0]).toBe('-sf');
    expect(uas).not.toContain('-key');
    expect(uas).not.toContain('-s');
    expect(() => sippArgs({ scenario: 'x', role: 'uac', localPort: 1, mediaPort: 2, controlPort: 3, timeoutMs: 1000 }, '/tmp/z')).toThrow(/remote/);
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value, treating throws as not yet', async () => {
    let n = 0;
    const v = await waitFor(
      () => {
        n += 1;
        if (n === 1) throw new Error('not up');
        return n >= 3 ? `ready after ${n}` : false;
      },
      { timeoutMs: 2_000, intervalMs: 1, message: 'ready' },
    );
    expect(v).toBe('ready after 3');
  });

  it('fails after the deadline with the message and the last error', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('still 2 channels');
        },
        { timeoutMs: 30, intervalMs: 5, message: 'no channels left' },
      ),
    ).rejects.toThrow(/waiting for: no channels left \(last error: still 2 channels\)/);
  });
});

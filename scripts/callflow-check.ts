/**
 * Ops check against a running deployment: places one real test call through Asterisk with sipp as the
 * carrier, answers it with sipp as the test destination, and checks that it was routed where expected,
 * answered, carried audio both ways, and (with --api) recorded.
 *
 *   npx tsx scripts/callflow-check.ts --did +15551230000 --expect-destination +15550001111 \
 *     [--asterisk 127.0.0.1:5060] [--carrier-port 5070] [--destination-port 5080] \
 *     [--api http://127.0.0.1:8080 --token TOKEN] [--hold 5]
 *
 * Run it on the Asterisk host, as root (tcpdump): Asterisk identifies the carrier trunk by the source
 * address and port (CARRIER_ADDRESS) and sends forwarded calls to OUTBOUND_TRUNK_ADDRESS, so sipp must
 * stand exactly there, and nothing else may hold those ports. Exit code 0 = every check passed,
 * 1 = a check failed, 2 = bad usage or the check could not run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRtpCapture, type RtpCapture, type RtpCaptureResult } from '../test/callflow/harness/rtpCapture.js';
import {
  DEFAULT_CALLER,
  describeSipp,
  receivedInviteFinalCodes,
  receivedInviteUsers,
  startSipp,
  type SippHandle,
  type SippResult,
} from '../test/callflow/harness/sipp.js';
import { waitFor } from '../test/callflow/harness/waitFor.js';
import { TIMED_OUT, withinMs } from '../src/withinMs.js';

export interface CheckOptions {
  did: string;
  expectDestination: string;
  asterisk: string;
  carrierPort: number;
  destinationPort: number;
  carrierMediaPort: number;
  destinationMediaPort: number;
  localIp: string;
  iface: string;
  caller: string;
  holdSeconds: number;
  minPackets: number;
  api?: string;
  token?: string;
  verbose: boolean;
}

export interface CheckLine {
  ok: boolean;
  name: string;
  detail: string;
}

const USAGE = `usage: npx tsx scripts/callflow-check.ts --did E164 --expect-destination NUMBER
  [--asterisk HOST:PORT]          Asterisk's SIP address (default 127.0.0.1:5060)
  [--carrier-port N]              port the carrier trunk is identified by (default 5070)
  [--destination-port N]          port of the outbound trunk (default 5080)
  [--local-ip IP]                 address sipp binds to (default 127.0.0.1)
  [--iface NAME]                  interface to capture RTP on (default lo)
  [--carrier-media-port N]        sipp carrier RTP port (default 30000)
  [--destination-media-port N]    sipp destination RTP port (default 30100)
  [--caller E164]                 caller number in From (default ${DEFAULT_CALLER})
  [--hold SECONDS]                talk time before the carrier hangs up (default 5)
  [--min-packets N]               RTP packets each direction must carry (default: 15 per second of hold, first 6 s)
  [--api URL --token TOKEN]       also check the call record (token or CALLROUTE_ADMIN_TOKEN)
  [--verbose]                     print sipp traces even when every check passes`;

function port(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${name} must be a port number (got "${value}")`);
  return n;
}

export function parseCheckArgs(argv: string[], env: Record<string, string | undefined> = process.env): CheckOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      did: { type: 'string' },
      'expect-destination': { type: 'string' },
      asterisk: { type: 'string' },
      'carrier-port': { type: 'string' },
      'destination-port': { type: 'string' },
      'carrier-media-port': { type: 'string' },
      'destination-media-port': { type: 'string' },
      'local-ip': { type: 'string' },
      iface: { type: 'string' },
      caller: { type: 'string' },
      hold: { type: 'string' },
      'min-packets': { type: 'string' },
      api: { type: 'string' },
      token: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(USAGE);
  if (!values.did) throw new Error(`--did is required\n${USAGE}`);
  if (!values['expect-destination']) throw new Error(`--expect-destination is required\n${USAGE}`);
  const asterisk = values.asterisk ?? '127.0.0.1:5060';
  if (!/^[^:\s]+:\d{1,5}$/.test(asterisk)) throw new Error(`--asterisk must be HOST:PORT (got "${asterisk}")`);
  const holdSeconds = values.hold === undefined ? 5 : Number(values.hold);
  if (!Number.isFinite(holdSeconds) || holdSeconds <= 0 || holdSeconds > 600) {
    throw new Error(`--hold must be seconds between 0 and 600 (got "${values.hold}")`);
  }
  // g711a.pcap holds ~7 s of speech in 30 ms packets (~33 a second) and stops there: expect about half
  // of that rate, over at most the first 6 s, so a short setup delay never fails a healthy call.
  const minPackets =
    values['min-packets'] === undefined ? Math.max(10, Math.floor(Math.min(holdSeconds, 6) * 15)) : Number(values['min-packets']);
  if (!Number.isInteger(minPackets) || minPackets < 1) throw new Error(`--min-packets must be a positive integer`);
  const token = values.token ?? env.CALLROUTE_ADMIN_TOKEN;
  if (values.api && !token) throw new Error('--api needs --token (or CALLROUTE_ADMIN_TOKEN in the environment)');
  const opts: CheckOptions = {
    did: values.did,
    expectDestination: values['expect-destination'],
    asterisk,
    carrierPort: port(values['carrier-port'], 'carrier-port', 5070),
    destinationPort: port(values['destination-port'], 'destination-port', 5080),
    carrierMediaPort: port(values['carrier-media-port'], 'carrier-media-port', 30000),
    destinationMediaPort: port(values['destination-media-port'], 'destination-media-port', 30100),
    localIp: values['local-ip'] ?? '127.0.0.1',
    iface: values.iface ?? 'lo',
    caller: values.caller ?? DEFAULT_CALLER,
    holdSeconds,
    minPackets,
    verbose: values.verbose ?? false,
  };
  if (values.api) opts.api = values.api.replace(/\/+$/, '');
  if (token) opts.token = token;
  return opts;
}

/** Same number, whatever the formatting: "+1 555 000-1111" and "+15550001111" match; so do 1555… and +1555…. */
export function sameNumber(a: string, b: string): boolean {
  const digits = (s: string): string => s.replace(/[^\d]/g, '');
  return a === b || (digits(a) !== '' && digits(a) === digits(b));
}

interface ApiCall {
  id: number;
  did: string;
  callerNumber: string | null;
  destination: string | null;
  finished: boolean;
  disposition: string | null;
  arrivedAt: string;
  answeredAt: string | null;
  talkSeconds: number | null;
}

async function latestCall(opts: CheckOptions): Promise<ApiCall | undefined> {
  const url = `${opts.api}/v1/calls?did=${encodeURIComponent(opts.did)}&limit=1`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${opts.token}` }, signal: AbortSignal.timeout(5_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${body.slice(0, 300)}`);
  const parsed = JSON.parse(body) as { calls?: ApiCall[] };
  return parsed.calls?.[0];
}

/** Places the call and runs every check; returns one line per check (never throws for a failed check). */
export async function runCallflowCheck(opts: CheckOptions, say: (line: string) => void = () => {}): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const check = (ok: boolean, name: string, detail: string): void => {
    lines.push({ ok, name, detail });
    say(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  };
  const startedAt = Date.now();
  const timeoutMs = (opts.holdSeconds + 60) * 1000;
  const sipps: SippHandle[] = [];
  let capture: RtpCapture | undefined;
  let uacResult: SippResult | undefined;
  let uasResult: SippResult | undefined;
  let rtp: RtpCaptureResult | undefined;
  // sipp traces and the capture; removed when every check passes (unless --verbose).
  const runDir = mkdtempSync(join(tmpdir(), 'callflow-check-'));

  try {
    const lo = Math.min(opts.carrierMediaPort, opts.destinationMediaPort);
    const hi = Math.max(opts.carrierMediaPort, opts.destinationMediaPort) + 3;
    capture = await startRtpCapture({ iface: opts.iface, portRange: [lo, hi], file: join(runDir, 'rtp.pcap') });

    const uas = startSipp({
      scenario: 'destination-answers',
      role: 'uas',
      ip: opts.localIp,
      localPort: opts.destinationPort,
      mediaPort: opts.destinationMediaPort,
      controlPort: 8895,
      timeoutMs,
      traceDir: join(runDir, 'destination'),
    });
    sipps.push(uas);
    const uac = startSipp({
      scenario: 'carrier-call-answered-hangs-up',
      role: 'uac',
      ip: opts.localIp,
      localPort: opts.carrierPort,
      mediaPort: opts.carrierMediaPort,
      controlPort: 8896,
      traceDir: join(runDir, 'carrier'),
      remote: opts.asterisk,
      dialed: opts.did,
      caller: opts.caller,
      holdMs: opts.holdSeconds * 1000,
      timeoutMs,
    });
    sipps.push(uac);
    say(`calling ${opts.did} from ${opts.caller} via ${opts.asterisk} (carrier ${opts.localIp}:${opts.carrierPort}, destination ${opts.localIp}:${opts.destinationPort}, hold ${opts.holdSeconds} s)`);

    uacResult = await uac.done;
    // The carrier's BYE reaches the destination through Asterisk right after; if the call never got
    // there, the destination would wait for its own timeout: stop it.
    if ((await withinMs(uas.done, 5_000)) === TIMED_OUT) uas.kill();
    uasResult = await uas.done;
    rtp = await capture.stop();
    capture = undefined;
  } finally {
    for (const s of sipps) s.kill();
    if (capture) await capture.stop().catch(() => undefined);
  }

  const finals = receivedInviteFinalCodes(uacResult?.messages ?? '');
  const users = receivedInviteUsers(uasResult?.messages ?? '');

  check(
    users.length === 1 && users[0] !== undefined && sameNumber(users[0], opts.expectDestination),
    'routed to the expected destination',
    users.length === 0
      ? `no INVITE reached the destination (expected one for ${opts.expectDestination})`
      : `destination received INVITE for ${users.join(', ')} (expected ${opts.expectDestination})`,
  );
  check(
    finals.includes(200) && uacResult?.exitCode === 0,
    'answered',
    `carrier got ${finals.length ? finals.join(', ') : 'no final response'}; carrier sipp exit ${uacResult?.exitCode}, destination sipp ${uasResult?.killed ? 'stopped (no call to finish)' : `exit ${uasResult?.exitCode}`}`,
  );
  const toCarrier = rtp?.packetsTo(opts.carrierMediaPort) ?? 0;
  const toDestination = rtp?.packetsTo(opts.destinationMediaPort) ?? 0;
  check(toDestination >= opts.minPackets, 'audio caller -> destination', `${toDestination} RTP packets reached the destination (need ${opts.minPackets})`);
  check(toCarrier >= opts.minPackets, 'audio destination -> caller', `${toCarrier} RTP packets reached the caller (need ${opts.minPackets})`);

  if (opts.api) {
    let call: ApiCall | undefined;
    let apiError: string | undefined;
    try {
      // The record is finished when the session releases, shortly after the BYEs: poll for it.
      call = await waitFor(
        async () => {
          const c = await latestCall(opts);
          return c && Date.parse(c.arrivedAt) >= startedAt - 2_000 && c.finished ? c : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 250, message: `a finished call record for ${opts.did} from this check` },
      );
    } catch (err) {
      apiError = (err as Error).message;
      call = await latestCall(opts).catch(() => undefined);
      if (call && Date.parse(call.arrivedAt) < startedAt - 2_000) call = undefined;
    }
    check(call !== undefined && call.finished, 'call record finished', call ? `call ${call.id}: finished=${call.finished}, disposition=${call.disposition}` : (apiError ?? 'no call record'));
    if (call) {
      check(call.answeredAt !== null && call.disposition === 'answered', 'call record answered', `disposition=${call.disposition}, answeredAt=${call.answeredAt}`);
      check((call.talkSeconds ?? 0) > 0, 'call record talk time', `talkSeconds=${call.talkSeconds} (held ${opts.holdSeconds} s)`);
      check(
        call.destination !== null && sameNumber(call.destination.replace(/^sips?:([^@]+)@.*$/, '$1'), opts.expectDestination),
        'call record destination',
        `destination=${call.destination} (expected ${opts.expectDestination})`,
      );
      if (call.callerNumber !== null && !sameNumber(call.callerNumber, opts.caller)) {
        check(false, 'call record caller', `callerNumber=${call.callerNumber} (expected ${opts.caller}): is this our call?`);
      }
    }
  }

  const failed = lines.some((l) => !l.ok);
  if ((failed || opts.verbose) && uacResult) say(describeSipp('carrier', uacResult, 40));
  if ((failed || opts.verbose) && uasResult) say(describeSipp('destination', uasResult, 40));
  if ((failed || opts.verbose) && rtp) say(`--- RTP (${rtp.file})\n${rtp.describe()}`);
  if (!failed && !opts.verbose) rmSync(runDir, { recursive: true, force: true });
  return lines;
}

async function main(argv: string[]): Promise<number> {
  let opts: CheckOptions;
  try {
    opts = parseCheckArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  let lines: CheckLine[];
  try {
    lines = await runCallflowCheck(opts, say);
  } catch (err) {
    process.stderr.write(`callflow-check could not run: ${(err as Error).message}\n`);
    return 2;
  }
  const failed = lines.filter((l) => !l.ok).length;
  say(failed === 0 ? `OK: ${lines.length} checks passed` : `FAILED: ${failed} of ${lines.length} checks`);
  return failed === 0 ? 0 : 1;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`callflow-check: ${err.message}\n`);
      process.exit(2);
    },
  );
}

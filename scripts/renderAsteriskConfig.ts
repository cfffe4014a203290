/**
 * Renders the Asterisk configuration we ship (`asterisk-config/*.conf`, `{{PLACEHOLDER}}` templates)
 * from callroute's Config, so ports, addresses and credentials are written once.
 *
 * CLI, for operators installing on a production Asterisk (writes only our files; point Asterisk's
 * astetcdir at a directory holding nothing else):
 *
 *   ARI_PASSWORD=... CALLROUTE_ADMIN_TOKEN=... npx tsx scripts/renderAsteriskConfig.ts /etc/asterisk
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, SIP_CODE_TO_CAUSE, type Config } from '../src/config/loadConfig.js';
import { amiSecret } from '../src/telephony/ami/sendAmiAction.js';
import { dialplanHookSecret } from '../src/telephony/dialplanHook/dialplanHookSecret.js';
import { callerIdRules, END_REPORT_FILE, ROUTE_TABLE_FAMILY, ROUTE_TABLE_GATE } from '../src/telephony/dialplanHook/routeTable.js';
import { SIP_CALL_ID_VARIABLE } from '../src/telephony/session/identifyCall.js';

/** Finds `asterisk-config/` from this file, whether run by tsx (scripts/) or compiled (dist/scripts/). */
export function templateDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i += 1) {
    const candidate = join(dir, 'asterisk-config');
    if (existsSync(join(candidate, 'modules.conf'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('asterisk-config/ not found next to the scripts');
}

/**
 * A value as Asterisk's config parser reads it back: `;` starts a comment unless escaped, and a
 * line break or surrounding blanks cannot be written at all.
 */
function confValue(key: string, value: string): string {
  if (/[\r\n]/.test(value) || value !== value.trim() || value === '') {
    throw new Error(`${key} cannot be written to an Asterisk config file (empty, line break or surrounding blanks)`);
  }
  return value.replace(/;/g, '\\;');
}

/** A name usable as a config section / dialplan application argument. */
function confName(key: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`${key} must use only letters, digits, _ . - (got "${value}")`);
  return value;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/**
 * The dialplan run when `Stasis()` fails because the router is not connected (context
 * `callroute-fallback`, entered with the dialed number).
 *
 * @example fallbackDialplan({ mode: 'reject', sipCode: 503, destination: '', ringTimeoutSeconds: 30 })
 *   // 'exten => _X.,1,Log(WARNING,...)\n same => n,Hangup(34)\nexten => _+X.,1,...'
 */
export function fallbackDialplan(fallback: Config['fallback']): string {
  let steps: string[];
  if (fallback.mode === 'reject') {
    const cause = SIP_CODE_TO_CAUSE[fallback.sipCode];
    if (cause === undefined) throw new Error(`FALLBACK_SIP_CODE ${fallback.sipCode} has no Q.850 cause`);
    // chan_pjsip turns the hangup cause of an unanswered channel back into the SIP response.
    steps = [`Hangup(${cause})`];
  } else {
    steps = [
      `Dial(${dialTarget(fallback.destination)},${fallback.ringTimeoutSeconds})`,
      'Goto(callroute-dialstatus,${DIALSTATUS},1)',
    ];
  }
  const log = 'Log(WARNING,router not connected: fallback for call from ${CALLERID(num)} to ${EXTEN})';
  return ['_X.', '_+X.']
    .map((pattern) => [`exten => ${pattern},1,${log}`, ...steps.map((s) => ` same => n,${s}`)].join('\n'))
    .join('\n');
}

/**
 * How the dialplan routes a carrier's call (context `from-carrier`, both number patterns).
 *
 * With the hand-off on:
 * 1. While the router keeps the gate open (global CR_GATE, see routeTable.ts), the dialplan reads
 *    the call's entry from the routing table the router keeps in AstDB (only an entry of the gate's
 *    generation counts), and presents the caller's
 *    number as the router would (callerIdRules). No other process is asked: the call costs the
 *    caller what plain `Dial()` does.
 * 2. Otherwise (gate closed, number not in the table, a caller ID only the router normalises), it
 *    asks the router (FastAGI on loopback), which answers an entry, a rejection cause, or nothing.
 * 3. Admission, for both: GROUP() counts every carrier call, per tracking number, and admitted calls
 *    per second; a call over MAX_CONCURRENT_CALLS (checked first, before the table is read), over
 *    MAX_CALLS_PER_SECOND (the gate's second and third fields, the router's settings) or over its
 *    number's cap leaves a refusal line for the router's record, and is refused (503 / 486).
 * 4. The entry's verdict: a `callroute-direct` extension Asterisk dials and records itself, or
 *    `stasis`: the router runs the call over ARI. No answer from the router: Stasis, and the
 *    fallback when no router is connected.
 * With the hand-off off, every call enters Stasis.
 */
export function carrierEntry(config: Config): string {
  const app = confName('ARI_APP', config.ari.app);
  const stasis = [`Stasis(${app},inbound)`, 'GotoIf($["${STASISSTATUS}" = "FAILED"]?callroute-fallback,${EXTEN},1)', 'Hangup()'];
  // The Call-ID rides in the script path (route/<secret>/<Call-ID>), which Asterisk sends second of
  // its lines: the router answers before the rest of the block arrives.
  const agi = `${dialplanAgiUrl(config)}/%s/${dialplanHookSecret(config.ari.password)}/\${URIENCODE(\${${SIP_CALL_ID_VARIABLE}})}`;
  const lines = (pattern: string): string[] => {
    if (!config.routing.dialplanHandOff) return [`exten => ${pattern},1,${KEEP_SIP_CALL_ID}`, ...stasis.map((s) => ` same => n,${s}`)];
    const steps: string[] = [
      `exten => ${pattern},1,Set(GROUP(${CALL_GROUP})=all)`,
      ` same => n,${KEEP_SIP_CALL_ID}`,
      // Over MAX_CONCURRENT_CALLS: refused before anything else is read, so a refusal costs Asterisk
      // what the plain dialplan's GROUP_COUNT check does, plus the line for the router's record.
      // The limit travels in the gate and stays there while the gate is shut.
      ` same => n,GotoIf($[0\${CUT(${ROUTE_TABLE_GATE},~,2)} > 0 & \${GROUP_COUNT(all@${CALL_GROUP})} > 0\${CUT(${ROUTE_TABLE_GATE},~,2)}]?over)`,
      ` same => n,GotoIf($[\${EPOCH} > 0\${CUT(${ROUTE_TABLE_GATE},~,1)}]?ask)`,
      ` same => n,Set(CR_ROUTE=\${DB(${ROUTE_TABLE_FAMILY}/\${EXTEN})})`,
      // Only an entry of the gate's generation is current (routeTable.ts); anything else asks the router.
      ` same => n,GotoIf($["\${CUT(CR_ROUTE,~,1)}" != "\${CUT(${ROUTE_TABLE_GATE},~,4)}" | "\${CR_ROUTE}" = ""]?ask)`,
      ' same => n,Set(CR_ROUTE=${CUT(CR_ROUTE,~,2-)})',
      ...callerIdSteps(config.routing.defaultCountryCode),
      // Calls per second, for calls to a number we route: admitted calls join the group of the second
      // they came in, which counts them while they are up (a call of the same second that already
      // ended frees its place).
      ` same => n(admit),GotoIf($[0\${CUT(${ROUTE_TABLE_GATE},~,3)} > 0 & \${GROUP_COUNT(\${EPOCH}@${SECOND_GROUP})} >= 0\${CUT(${ROUTE_TABLE_GATE},~,3)}]?rate)`,
      ` same => n,Set(GROUP(${SECOND_GROUP})=\${EPOCH})`,
      ' same => n,Set(CR_NUM=${CUT(CR_ROUTE,~,1)})',
      ` same => n,Set(GROUP(${NUMBER_GROUP})=\${CR_NUM})`,
      ` same => n,GotoIf($[\${CUT(CR_ROUTE,~,2)} > 0 & \${GROUP_COUNT(\${CR_NUM}@${NUMBER_GROUP})} > \${CUT(CR_ROUTE,~,2)}]?busy)`,
      ' same => n,Set(CR_ROUTE=${CUT(CR_ROUTE,~,3-)})',
      ' same => n,GotoIf($["${CR_ROUTE}" = "stasis"]?stasis)',
      // Goto, not GotoIf: a sip: destination's colon would split GotoIf's labels.
      ' same => n,Goto(callroute-direct,${CR_ROUTE},1)',
      ' same => n(ask),Set(CR_ROUTE=)',
      ` same => n,AGI(${agi.replace('%s', 'route')})`,
      ' same => n,GotoIf($["${CR_ROUTE:0:7}" = "reject~"]?callroute-reject,${CUT(CR_ROUTE,~,2)},1)',
      ' same => n,GotoIf($["${CR_ROUTE}" != ""]?admit)',
      ` same => n(stasis),${stasis[0]}`,
      ...stasis.slice(1).map((s) => ` same => n,${s}`),
      // Refusals: a line in the end report file, from which the router writes their records
      // (read when it is up, so none is lost while it is away); the hangup cause becomes the SIP response.
      ` same => n(over),${refusalLine('over')}`,
      ' same => n,Hangup(34)',
      ` same => n(rate),${refusalLine('rate')}`,
      ' same => n,Hangup(34)',
      ` same => n(busy),${refusalLine('busy')}`,
      ' same => n,Hangup(17)',
    ];
    return steps;
  };
  return [...lines('_X.'), ...lines('_+X.')].join('\n');
}

/** Who called which number, as both kinds of end report line carry it (arrivalFromReport reads them). */
const CALLER_FIELDS = [
  'dialed=${URIENCODE(${CALLERID(dnid)})}',
  'caller=${URIENCODE(${CALLERID(num)})}',
  'caller_name=${URIENCODE(${CALLERID(name)})}',
  `sip_call_id=\${URIENCODE(\${${SIP_CALL_ID_VARIABLE}})}`,
];

/**
 * The carrier INVITE's Call-ID, kept on the channel from the first step (ARI shows it with every
 * channel: ari.conf `channelvars`), so every record of the call can carry it.
 */
const KEEP_SIP_CALL_ID = `Set(${SIP_CALL_ID_VARIABLE}=\${CHANNEL(pjsip,call-id)})`;

/**
 * A dialplan step appending one line to the end report file the router follows
 * (createEndReportTail): `<UNIQUEID> <form fields>`, values URI-encoded so a line never holds a newline.
 */
function endReportLine(fields: readonly string[]): string {
  return `Set(FILE(${END_REPORT_FILE},,,al,u)=\${UNIQUEID} ${fields.join('&')})`;
}

/**
 * The dialplan step that tells the router of a call refused over a cap (parseDialplanRefusal reads
 * it), as the hangup handler of a routed call tells it how the call ended.
 */
export function refusalLine(reason: 'over' | 'rate' | 'busy'): string {
  return endReportLine([`refused=${reason}`, ...CALLER_FIELDS, 'exten=${URIENCODE(${EXTEN})}', 'at=${STRFTIME(,,%s.%3q)}']);
}

/**
 * The hangup handler's step for a call the dialplan routed (ARG1: its callroute-direct extension):
 * how the call ended (parseDialplanEndReport), and what the router needs to write the call's record
 * if it has not heard of the call.
 */
export function routedCallEndLine(): string {
  return endReportLine([
    'dialstatus=${DIALSTATUS}',
    'answered_ms=${ANSWEREDTIME_MS}',
    'dialed_ms=${DIALEDTIME_MS}',
    'dial_returned=${CR_DIAL_RETURNED}',
    'cause=${HANGUPCAUSE}',
    'number=${CR_NUM}',
    ...CALLER_FIELDS,
    'route=${URIENCODE(${ARG1})}',
    'ended_at=${STRFTIME(,,%s.%3q)}',
  ]);
}

/** GROUP() category counting every carrier call, and the one counting calls per tracking number. */
export const CALL_GROUP = 'callroute';
export const NUMBER_GROUP = 'callroute_number';
/** GROUP() category of admitted calls by the epoch second they came in (MAX_CALLS_PER_SECOND). */
export const SECOND_GROUP = 'callroute_second';

/**
 * The dialplan steps that present the caller's number as the router would (callerIdRules): each
 * rule one step, the first that matches decides; a rewrite jumps to its own step.
 */
export function callerIdSteps(defaultCountryCode: string): string[] {
  const rules = callerIdRules(defaultCountryCode);
  const steps = [' same => n,Set(CR_CID=${CALLERID(num)})'];
  const rewrites: string[] = [];
  rules.forEach((rule, i) => {
    if (/["\\]|\$[{[]/.test(rule.pattern)) throw new Error(`caller ID rule ${rule.pattern} cannot be written to the dialplan`);
    const test = `\${REGEX("${rule.pattern}" \${CR_CID})}`;
    if (rule.action === 'rewrite') {
      steps.push(` same => n,GotoIf(${test}?cid${i})`);
      rewrites.push(` same => n(cid${i}),Set(CALLERID(num)=${rule.prefix}\${CR_CID:${rule.strip}})`, ' same => n,Goto(admit)');
    } else {
      steps.push(` same => n,GotoIf(${test}?${rule.action === 'keep' ? 'admit' : 'ask'})`);
    }
  });
  // No rule matched: the number is presented as received.
  return [...steps, ' same => n,Goto(admit)', ...rewrites];
}

/** The router's FastAGI address as the dialplan calls it. */
export function dialplanAgiUrl(config: Config): string {
  return `agi://127.0.0.1:${config.routing.dialplanHookPort}`;
}

/**
 * The Dial() target for a destination reached through the outbound trunk.
 *
 * @example dialTarget('+15557654321') // 'PJSIP/+15557654321@destinations'
 * @example dialTarget('sip:desk@10.0.0.5:5062') // 'PJSIP/destinations/sip:desk@10.0.0.5:5062'
 */
export function dialTarget(destination: string): string {
  if (/^sips?:[^\s,;|&()]+$/.test(destination)) return `PJSIP/destinations/${destination}`;
  if (/^\+?[0-9]{2,20}$/.test(destination)) return `PJSIP/${destination}@destinations`;
  throw new Error(`FALLBACK_DESTINATION must be an E.164 number or a sip: URI (got "${destination}")`);
}

/**
 * The endpoint options that end a call whose party vanished: RTP timeouts (talking and on hold) and
 * SIP session timers.
 *
 * @example deadCallSettings({ rtpTimeoutSeconds: 30, rtpTimeoutHoldSeconds: 600, sessionTimers: 'yes', sessionExpiresSeconds: 300 })
 *   // 'rtp_timeout = 30\nrtp_timeout_hold = 600\ntimers = yes\ntimers_min_se = 90\ntimers_sess_expires = 300'
 */
export function deadCallSettings(sip: Pick<Config['sip'], 'rtpTimeoutSeconds' | 'rtpTimeoutHoldSeconds' | 'sessionTimers' | 'sessionExpiresSeconds'>): string {
  return [
    `rtp_timeout = ${sip.rtpTimeoutSeconds}`,
    `rtp_timeout_hold = ${sip.rtpTimeoutHoldSeconds}`,
    `timers = ${sip.sessionTimers}`,
    'timers_min_se = 90',
    `timers_sess_expires = ${sip.sessionExpiresSeconds}`,
  ].join('\n');
}

type SipSecurity = Pick<
  Config['sip'],
  'bindHost' | 'tls' | 'carrierAddress' | 'outboundTrunkAddress' | 'carrierTransport' | 'outboundTrunkTransport' | 'carrierMediaEncryption' | 'outboundTrunkMediaEncryption'
>;

/**
 * SIP over TLS and SRTP, from the config: the TLS transport (when SIP_TLS_PORT is set), and per
 * trunk its transport, its media encryption, and how it is identified. A TLS peer connects from
 * an ephemeral port, so a trunk reached over TLS is identified by its host alone.
 *
 * @example sipSecurity({ ...sip, tls: { port: 5061, certFile: 'c.pem', keyFile: 'k.pem' }, carrierTransport: 'tls', carrierMediaEncryption: 'sdes' }).CARRIER_SECURITY
 *   // 'transport = transport-tls\nmedia_encryption = sdes'
 */
export function sipSecurity(sip: SipSecurity): Record<'TLS_TRANSPORT' | 'CARRIER_SECURITY' | 'CARRIER_MATCH' | 'OUTBOUND_TRUNK_SECURITY' | 'OUTBOUND_TRUNK_MATCH' | 'OUTBOUND_TRUNK_CONTACT', string> {
  const tls =
    sip.tls.port > 0
      ? [
          '[transport-tls]',
          'type = transport',
          'protocol = tls',
          `bind = ${confValue('SIP_BIND_HOST', sip.bindHost)}:${sip.tls.port}`,
          `cert_file = ${confValue('SIP_TLS_CERT_FILE', sip.tls.certFile)}`,
          `priv_key_file = ${confValue('SIP_TLS_KEY_FILE', sip.tls.keyFile)}`,
          'method = tlsv1_2',
        ].join('\n')
      : '; No TLS transport (SIP_TLS_PORT is 0).';
  const trunk = (transport: 'udp' | 'tls', encryption: 'no' | 'sdes'): string =>
    [`transport = transport-${transport}`, ...(encryption === 'sdes' ? ['media_encryption = sdes'] : [])].join('\n');
  const hostOf = (address: string): string => address.replace(/:\d+$/, '');
  return {
    TLS_TRANSPORT: tls,
    CARRIER_SECURITY: trunk(sip.carrierTransport, sip.carrierMediaEncryption),
    CARRIER_MATCH: sip.carrierTransport === 'tls' ? hostOf(sip.carrierAddress) : sip.carrierAddress,
    OUTBOUND_TRUNK_SECURITY: trunk(sip.outboundTrunkTransport, sip.outboundTrunkMediaEncryption),
    OUTBOUND_TRUNK_MATCH: sip.outboundTrunkTransport === 'tls' ? hostOf(sip.outboundTrunkAddress) : sip.outboundTrunkAddress,
    OUTBOUND_TRUNK_CONTACT: `sip:${sip.outboundTrunkAddress}${sip.outboundTrunkTransport === 'tls' ? ';transport=tls' : ''}`,
  };
}

function placeholders(config: Config): Record<string, string> {
  const bind = config.sip.bindHost;
  const fallback = config.fallback;
  return {
    NODE_ID: config.nodeId,
    ARI_HOST: confValue('ARI_URL host', config.ari.host),
    ARI_PORT: String(config.ari.port),
    ARI_USERNAME: confName('ARI_USERNAME', config.ari.username),
    ARI_PASSWORD: confValue('ARI_PASSWORD', config.ari.password),
    ARI_APP: confName('ARI_APP', config.ari.app),
    AMI_PORT: String(config.ari.amiPort),
    AMI_SECRET: amiSecret(config.ari.password),
    SIP_BIND_HOST: confValue('SIP_BIND_HOST', bind),
    SIP_PORT: String(config.sip.port),
    RTP_PORT_START: String(config.sip.rtpPortStart),
    RTP_PORT_END: String(config.sip.rtpPortEnd),
    // Without media_address + bind_rtp_to_media_address, RTP binds the wildcard address even when
    // SIP is on loopback. A wildcard SIP bind leaves RTP on the wildcard too.
    MEDIA_SETTINGS: WILDCARD_HOSTS.has(bind)
      ? '; SIP binds the wildcard address: RTP does too.'
      : `media_address = ${bind}\nbind_rtp_to_media_address = yes`,
    DEAD_CALL_SETTINGS: deadCallSettings(config.sip),
    ...sipSecurity(config.sip),
    FALLBACK_SUMMARY:
      fallback.mode === 'reject'
        ? `reject with SIP ${fallback.sipCode}`
        : `dial ${fallback.destination} for ${fallback.ringTimeoutSeconds} s`,
    FALLBACK_DIALPLAN: fallbackDialplan(fallback),
    CARRIER_ENTRY: carrierEntry(config),
    ENTRY_SUMMARY: config.routing.dialplanHandOff
      ? `the dialplan reads the routing table the router keeps in AstDB,\n; or asks the router (FastAGI, port ${config.routing.dialplanHookPort}); calls it runs itself enter its ARI app "${config.ari.app}".`
      : `each call enters its ARI app "${config.ari.app}".`,
    DIALPLAN_AGI: dialplanAgiUrl(config),
    DIALPLAN_SECRET: dialplanHookSecret(config.ari.password),
    ROUTED_CALL_END_LINE: routedCallEndLine(),
  };
}

/** Replaces every `{{NAME}}`; an unknown name is an error, so a typo never ships a literal placeholder. */
export function renderTemplate(name: string, text: string, values: Record<string, string>): string {
  return text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${name}: unknown placeholder {{${key}}}`);
    return v;
  });
}

export interface RenderOptions {
  /**
   * Benchmarks only (`npm run bench`), never shipped: adds the `bench-carrier` trunk and the
   * `bench-dialplan` context (bench-carrier.conf / bench-dialplan.conf in asterisk-config/bench/),
   * Asterisk's own MixMonitor + Dial doing the router's job, as the baseline on the same Asterisk.
   */
  bench?: boolean;
}

/** Files appended to our own when rendering with `{ bench: true }`: template → file it is appended to. */
const BENCH_ADDITIONS: ReadonlyArray<readonly [string, string]> = [
  ['bench-carrier.conf', 'pjsip.conf'],
  ['bench-dialplan.conf', 'extensions.conf'],
];

/** Every file of our Asterisk configuration, rendered: file name → text. */
export function renderAsteriskConfig(config: Config, opts: RenderOptions = {}): Map<string, string> {
  const dir = templateDir();
  const values = placeholders(config);
  const out = new Map<string, string>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.conf')) continue;
    out.set(file, renderTemplate(file, readFileSync(join(dir, file), 'utf8'), values));
  }
  if (opts.bench) {
    for (const [addition, target] of BENCH_ADDITIONS) {
      const text = renderTemplate(addition, readFileSync(join(dir, 'bench', addition), 'utf8'), values);
      out.set(target, `${out.get(target) ?? ''}\n${text}`);
    }
  }
  return out;
}

/** Writes the rendered files into `dir` (created if missing); returns the file names written. */
export function writeAsteriskConfig(config: Config, dir: string, opts: RenderOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderAsteriskConfig(config, opts);
  // ari.conf holds the ARI password: readable by its owner only (the sandbox chowns it to asterisk).
  for (const [file, text] of files) writeFileSync(join(dir, file), text, { mode: 0o640 });
  return [...files.keys()];
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const outDir = process.argv[2];
  if (!outDir) {
    process.stderr.write('usage: npx tsx scripts/renderAsteriskConfig.ts OUTDIR\n');
    process.exit(2);
  }
  try {
    const written = writeAsteriskConfig(loadConfig(process.env), outDir);
    process.stdout.write(`wrote ${written.join(' ')} to ${resolve(outDir)}\n`);
  } catch (err) {
    process.stderr.write(`renderAsteriskConfig: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

import { createHash } from 'node:crypto';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { resolveRoute, type RoutableNumber, type RoutePolicy } from '../../routing/resolveRoute.js';
import { dialplanVerdict, handOffExtension } from '../session/dialplanHandOff.js';

/**
 * The routing table Asterisk's dialplan reads for itself, so a call to a tracking number is routed
 * without waiting for another process (`DB(callroute_route/<dialed number>)` in `from-carrier`).
 * The router writes it into AstDB and keeps it in step with the tracking numbers; the dialplan asks
 * the router (FastAGI) only for what the table does not answer.
 */
export const ROUTE_TABLE_FAMILY = 'callroute_route';
/** AstDB key holding the digest of the table last written completely (checked on reconnect). */
export const ROUTE_TABLE_DIGEST_KEY = 'callroute_meta/route_digest';
/**
 * Global variable the dialplan checks before reading the table (see gateValue). The router moves
 * it forward while it is connected and the table is in step; when the router goes away, it runs
 * out and calls ask the router again, so a router that is gone means the dialplan fallback, as
 * before the table existed.
 */
export const ROUTE_TABLE_GATE = 'CR_GATE';
/**
 * The file the hangup handler of a call the dialplan routed appends its end report to, inside
 * Asterisk's filesystem (extensions.conf `callroute-direct-ended`; read by createEndReportTail).
 */
export const END_REPORT_FILE = '/var/spool/asterisk/callroute-ended.log';

/**
 * The gate's value: `<epoch second until which the table may route calls, 0: shut>~<MAX_CONCURRENT_CALLS,
 * 0: none>~<MAX_CALLS_PER_SECOND, 0: none>`. The limits travel with it so the dialplan counts calls
 * against the router's own settings, whatever the configuration Asterisk was started with.
 *
 * @example gateValue(1800000003, 100, 20) // '1800000003~100~20'
 */
export function gateValue(openUntilSeconds: number, maxConcurrentCalls: number, maxCallsPerSecond: number): string {
  return `${openUntilSeconds}~${maxConcurrentCalls}~${maxCallsPerSecond}`;
}

/**
 * One table entry, also the router's FastAGI answer for a routable number:
 * `<tracking number id>~<its concurrent-call cap, 0 for none>~<verdict>`, where the verdict is a
 * `callroute-direct` extension or `stasis`. The dialplan counts calls per number with GROUP().
 *
 * @example routeEntry(12, null, 'cr~30~r~+15550001111~') // '12~0~cr~30~r~+15550001111~'
 */
export function routeEntry(numberId: number, cap: number | null | undefined, verdict: string): string {
  return `${numberId}~${cap ?? 0}~${verdict}`;
}

/**
 * The forms a carrier may send a DID in that normalise to it (the router's rule), so the dialplan
 * finds the number by its dialed form with one AstDB read. Forms normalizeNumber would read as
 * another number are left out; rarer forms (international prefixes, separators) ask the router.
 *
 * @example dialedForms('+15551234567', '1') // ['+15551234567', '15551234567', '5551234567']
 * @example dialedForms('+442071234567', '44') // ['+442071234567', '442071234567', '02071234567']
 */
export function dialedForms(did: string, defaultCountryCode: string): string[] {
  const digits = did.slice(1);
  const forms = [did, digits];
  if (digits.startsWith(defaultCountryCode)) {
    const national = digits.slice(defaultCountryCode.length);
    forms.push(defaultCountryCode === '1' ? national : `0${national}`);
  }
  return [...new Set(forms)].filter((form) => normalizeNumber(form, defaultCountryCode) === did);
}

/**
 * The whole table for the current tracking numbers: dialed form → entry. Disabled numbers are not
 * in it: their calls ask the router, which rejects them with a record. Pure.
 */
export function routeTable(numbers: readonly RoutableNumber[], policy: RoutePolicy & { defaultCountryCode: string }): Map<string, string> {
  const table = new Map<string, string>();
  for (const number of numbers) {
    if (!number.enabled) continue;
    const decision = resolveRoute({ did: number.did, number, callerNumber: '' }, policy);
    if (decision.kind !== 'dial') continue;
    // The caller ID field stays empty: the dialplan normalises the caller's number itself (callerIdRules).
    const verdict = handOffExtension(decision, number, '') ?? dialplanVerdict.stasis;
    const entry = routeEntry(number.id, number.maxConcurrentCalls, verdict);
    for (const form of dialedForms(number.did, policy.defaultCountryCode)) table.set(form, entry);
  }
  return table;
}

/** A digest of a table, independent of insertion order. */
export function routeTableDigest(table: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const key of [...table.keys()].sort()) hash.update(`${key}\t${table.get(key) as string}\n`);
  return hash.digest('hex').slice(0, 32);
}

/**
 * What the dialplan does with the caller's number before dialing, in order, first match wins
 * (POSIX extended regular expressions, as Asterisk's REGEX() reads them):
 * - `keep`: present it as received (normalizeNumber leaves it alone or cannot read it);
 * - `ask`: ask the router, which normalises it exactly (separators, URIs, international prefixes);
 * - `prefix`/`strip`: present `prefix` + the number without its first `strip` digits.
 * Together they give what normalizeNumber gives for every caller ID the dialplan handles itself
 * (a unit test compares them on random input). Anything no rule matches is kept.
 */
export type CallerIdRule = { pattern: string; action: 'keep' | 'ask' } | { pattern: string; action: 'rewrite'; prefix: string; strip: number };

export function callerIdRules(defaultCountryCode: string): CallerIdRule[] {
  const cc = defaultCountryCode;
  const rules: CallerIdRule[] = [
    // Empty, E.164 or `+` with anything normalizeNumber rejects, or a word such as "anonymous".
    { pattern: '^([+][0-9]*|[A-Za-z]*)$', action: 'keep' },
    { pattern: '[^0-9]', action: 'ask' },
    { pattern: '^(011|00)', action: 'ask' },
  ];
  if (cc === '1') {
    rules.push({ pattern: '^[0-9]{10}$', action: 'rewrite', prefix: '+1', strip: 0 });
    rules.push({ pattern: '^1[0-9]{10,14}$', action: 'rewrite', prefix: '+', strip: 0 });
  } else {
    const lc = cc.length;
    rules.push({ pattern: `^0[0-9]{${8 - lc},${15 - lc}}$`, action: 'rewrite', prefix: `+${cc}`, strip: 1 });
    rules.push({ pattern: `^${cc}[0-9]{${10 - lc},${15 - lc}}$`, action: 'rewrite', prefix: '+', strip: 0 });
  }
  return rules;
}

/**
 * The rules applied in TypeScript, as the dialplan applies them: the caller ID to present, the
 * received one (`keep`), or null when the dialplan asks the router.
 */
export function applyCallerIdRules(rules: readonly CallerIdRule[], callerId: string): string | null {
  for (const rule of rules) {
    if (!new RegExp(rule.pattern).test(callerId)) continue;
    if (rule.action !== 'rewrite') return rule.action === 'keep' ? callerId : null;
    return rule.prefix + callerId.slice(rule.strip);
  }
  return callerId;
}

import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { resolveRoute, type RoutableNumber, type RoutePolicy } from '../../routing/resolveRoute.js';
import { dialplanVerdict, handOffExtension } from '../session/dialplanHandOff.js';

/**
 * The routing table Asterisk's dialplan reads for itself, so a call to a tracking number is routed
 * without waiting for another process (`DB(callroute_route/<dialed number>)` in `from-carrier`).
 * The router writes it into AstDB and keeps it in step with the tracking numbers; the dialplan asks
 * the router (FastAGI) only for what the table does not answer.
 *
 * The router can write AstDB through ARI but never read it back: ARI's GET /asterisk/variable
 * returns "" for every dialplan function (DB(), DB_KEYS(), DB_DELETE() are not evaluated; measured on
 * Asterisk 22, docs/asterisk.md), so it cannot list or delete keys. Hence generations: every value
 * starts with the generation it was written in (tableValue), the gate names the current one, and the
 * dialplan uses an entry only when the two match. Each whole write (after every connect) is a new
 * generation, so entries the router no longer knows of (a number disabled or deleted while it was
 * away, an older installation's) route nothing; a removal between whole writes is an empty value.
 */
export const ROUTE_TABLE_FAMILY = 'callroute_route';
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
 * 0: none>~<MAX_CALLS_PER_SECOND, 0: none>~<table generation>`. The limits travel with it so the
 * dialplan counts calls against the router's own settings, whatever the configuration Asterisk was
 * started with; the generation says which of the table's values are current (see above).
 *
 * @example gateValue(1800000003, 100, 20, 'mf3k2a1') // '1800000003~100~20~mf3k2a1'
 */
export function gateValue(openUntilSeconds: number, maxConcurrentCalls: number, maxCallsPerSecond: number, generation: string): string {
  return `${openUntilSeconds}~${maxConcurrentCalls}~${maxCallsPerSecond}~${generation}`;
}

/**
 * A table value as written to AstDB: the generation, then the entry (routeEntry, or a caller's rule).
 *
 * @example tableValue('mf3k2a1', '12~0~stasis') // 'mf3k2a1~12~0~stasis'
 */
export function tableValue(generation: string, entry: string): string {
  return `${generation}~${entry}`;
}

/** A new generation: base-36 milliseconds, so one never comes back (not even after a restart). */
export function newGeneration(nowMs: number): string {
  return nowMs.toString(36);
}

/**
 * One table entry, also the router's FastAGI answer for a routable number:
 * `<tracking number id>~<its concurrent-call cap, 0 for none>~<verdict>`, where the verdict is a
 * `callroute-direct` extension or `stasis`. The dialplan counts calls per number with GROUP().
 *
 * @example routeEntry(12, null, 'cr~30~r7~+15550001111~') // '12~0~cr~30~r7~+15550001111~'
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
 * The table's key for a caller whose calls to an account are not recorded (do-not-record list or
 * restricted): `q~<account id>~<caller number>`. It never collides with a dialed form (the dialplan
 * looks those up by the dialed extension, which starts with a digit or `+`); `callroute-direct`
 * reads it before MixMonitor, only for calls its extension says to record, and skips the recording
 * when its generation is the gate's.
 *
 * @example callerPrivacyKey(7, '+15559876543') // 'q~7~+15559876543'
 */
export function callerPrivacyKey(accountId: number, callerNumber: string): string {
  return `q~${accountId}~${callerNumber}`;
}

/**
 * The whole table for the current tracking numbers: dialed form → entry, and the callers of
 * callerRules (callerPrivacyKey → their rule). Disabled numbers are not in it: their calls ask the
 * router, which rejects them with a record. Pure.
 */
export function routeTable(
  numbers: readonly RoutableNumber[],
  policy: RoutePolicy & { defaultCountryCode: string },
  callerRules: ReadonlyArray<{ accountId: number; callerNumber: string; rule: string }> = [],
): Map<string, string> {
  const table = new Map<string, string>();
  // Only numbers AstDB can hold as a key and the dialplan can compare (a caller ID is normalised to E.164 first).
  for (const r of callerRules) if (/^\+[0-9]{2,20}$/.test(r.callerNumber)) table.set(callerPrivacyKey(r.accountId, r.callerNumber), r.rule);
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

import type { CallRow, VisitRow } from '../persistence/schema.js';
import { callsOfCaller, callsOfVisits, recordingsOfCalls, visitsByIds, visitsOfVisitors } from '../persistence/privacyRepository.js';
import type { Work } from '../persistence/store.js';
import type { FoundSubject } from './eraseSubject.js';
import { callerNumberSpellings, erasedCallerNumber, subjectHashOf } from './subjectNumbers.js';

/** Who a request is about: a caller (any spelling of the number), a website visitor (the snippet's id), or one visit. */
export type Subject = { callerNumber: string } | { visitorId: string } | { visitId: number };


/**
 * Everything of a subject in these accounts (undefined: all), with one hop between calls and visits:
 * a caller's calls, the visits they came from and every other visit of those browsers; a visitor's
 * visits and the calls that came from them; a visit and its calls.
 */
export function findSubject(subject: Subject, accountIds: readonly number[] | undefined, cfg: { defaultCountryCode: string; hashSecret: string }): Work<FoundSubject> {
  return function* (q) {
    let found: CallRow[];
    let visitRows: VisitRow[];
    let subjectHash: string;
    if ('callerNumber' in subject) {
      subjectHash = erasedCallerNumber(subject.callerNumber, cfg.hashSecret);
      found = yield* callsOfCaller(callerNumberSpellings(subject.callerNumber, cfg.defaultCountryCode), accountIds)(q);
      const linked = yield* visitsByIds([...new Set(found.flatMap((c) => (c.visitId === null ? [] : [c.visitId])))])(q);
      visitRows = yield* visitsOfVisitors([...new Set(linked.map((v) => v.visitorId))], accountIds)(q);
    } else {
      subjectHash = subjectHashOf(subject, cfg.hashSecret);
      visitRows = 'visitorId' in subject ? yield* visitsOfVisitors([subject.visitorId], accountIds)(q) : yield* visitsByIds([subject.visitId])(q);
      if (accountIds !== undefined) visitRows = visitRows.filter((v) => accountIds.includes(v.accountId));
      found = yield* callsOfVisits(visitRows.map((v) => v.id), accountIds)(q);
    }
    return { subjectHash, calls: found, recordings: yield* recordingsOfCalls(found.map((c) => c.id))(q), visits: visitRows };
  };
}

/** What the router answers a call over a cap: 486 Busy Here (per number), 503 Service Unavailable (system). */
export type AdmitDecision = { ok: true } | { ok: false; reject: 'busy'; sipCode: 486 } | { ok: false; reject: 'unavailable'; sipCode: 503 };

/**
 * Concurrent-call caps, checked when a call arrives, before anything is dialed. `*Active` count the
 * calls in progress not counting this one; a null cap is no cap. The system cap wins when both are
 * reached (the box is full, whichever number was called).
 *
 * @example admitCall({ perNumberActive: 2, perNumberCap: 2, systemActive: 5, systemCap: 100 }) // { ok: false, reject: 'busy', sipCode: 486 }
 */
export function admitCall(c: {
  perNumberActive: number;
  perNumberCap: number | null;
  systemActive: number;
  systemCap: number | null;
}): AdmitDecision {
  if (c.systemCap !== null && c.systemActive >= c.systemCap) return { ok: false, reject: 'unavailable', sipCode: 503 };
  if (c.perNumberCap !== null && c.perNumberActive >= c.perNumberCap) return { ok: false, reject: 'busy', sipCode: 486 };
  return { ok: true };
}

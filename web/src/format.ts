/** Times as people read them: in the account's time zone when it has one, else the browser's. */
export function formatTime(iso: string | null, timeZone?: string): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium', ...(timeZone ? { timeZone } : {}) }).format(new Date(iso));
}

export function formatSeconds(s: number | null): string {
  if (s === null) return '—';
  const total = Math.round(s);
  return total >= 60 ? `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}` : `${total} s`;
}

/** +15551234567 → (555) 123-4567 for North American numbers; others as stored. */
export function formatNumber(e164: string | null): string {
  if (!e164) return '—';
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

/**
 * What a call's state is, in words, for the log. A call Asterisk's dialplan runs by itself tells its
 * answer only at its end: until then it is "in progress", not "ringing".
 */
export function callState(c: { finished: boolean; answeredAt: string | null; disposition: string | null; dialplanHandOff?: boolean }): string {
  if (!c.finished) return c.answeredAt || c.dialplanHandOff ? 'in progress' : 'ringing';
  return c.disposition ?? 'ended';
}

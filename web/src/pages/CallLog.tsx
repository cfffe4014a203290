import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type Call } from '../api.js';
import { callState, formatNumber, formatSeconds, formatTime } from '../format.js';
import { openLiveFeed } from '../live.js';

export interface CallFilters {
  from: string;
  to: string;
  did: string;
  source: string;
  medium: string;
  campaign: string;
  disposition: string;
  firstTimeCaller: '' | 'true' | 'false';
  callerNumber: string;
  /** Free text: caller number digits, caller name, a tag, the notes (`q`). */
  q: string;
}

const EMPTY: CallFilters = { from: '', to: '', did: '', source: '', medium: '', campaign: '', disposition: '', firstTimeCaller: '', callerNumber: '', q: '' };
const DISPOSITIONS = ['answered', 'busy', 'no-answer', 'failed', 'caller-abandoned', 'rejected', 'voicemail'];

/** The query string /v1/calls takes for these filters (dates are the browser's local days). */
export function callsQuery(accountId: number, f: CallFilters, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ accountId: String(accountId), ...extra });
  if (f.from) q.set('from', new Date(`${f.from}T00:00:00`).toISOString());
  if (f.to) q.set('to', new Date(`${f.to}T23:59:59.999`).toISOString());
  for (const key of ['did', 'source', 'medium', 'campaign', 'disposition', 'firstTimeCaller', 'callerNumber', 'q'] as const) if (f[key]) q.set(key, f[key]);
  return q.toString();
}

/** Whether a call pushed by the live feed belongs in the list as filtered (what the API would answer). */
function matches(c: Call, f: CallFilters): boolean {
  if (f.from && Date.parse(c.arrivedAt) < new Date(`${f.from}T00:00:00`).getTime()) return false;
  if (f.to && Date.parse(c.arrivedAt) > new Date(`${f.to}T23:59:59.999`).getTime()) return false;
  if (f.disposition && c.disposition !== f.disposition) return false;
  if (f.source && c.source !== f.source) return false;
  if (f.medium && c.medium !== f.medium) return false;
  if (f.campaign && c.campaign !== f.campaign) return false;
  if (f.firstTimeCaller && String(c.firstTimeCaller) !== f.firstTimeCaller) return false;
  const digits = (s: string | null) => (s ?? '').replace(/\D/g, '');
  if (f.did && !digits(c.did).endsWith(digits(f.did))) return false;
  if (f.callerNumber && !digits(c.callerNumber).endsWith(digits(f.callerNumber))) return false;
  if (f.q) {
    // As the API searches (callQueries matchesSearch): digits in the number, text in name, tags, notes.
    const text = f.q.trim().toLowerCase();
    const inText = [c.callerName ?? '', c.notes ?? '', ...c.tags].some((v) => v.toLowerCase().includes(text));
    const qDigits = digits(f.q);
    if (!inText && !(qDigits.length >= 3 && digits(c.callerNumber).includes(qDigits))) return false;
  }
  return true;
}

/**
 * The call log: newest first, filtered through the API, paged by its cursor, kept live by the feed
 * (new calls appear at the top, calls in progress change state in place), exported as CSV.
 */
export function CallLog({ accountId, timeZone }: { accountId: number; timeZone?: string | undefined }) {
  const [draft, setDraft] = useState<CallFilters>(EMPTY);
  const [filters, setFilters] = useState<CallFilters>(EMPTY);
  const [calls, setCalls] = useState<Call[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let gone = false;
    setLoading(true);
    api<{ calls: Call[]; nextCursor: string | null }>('GET', `/v1/calls?${callsQuery(accountId, filters, { limit: '50' })}`)
      .then((page) => {
        if (gone) return;
        setCalls(page.calls);
        setCursor(page.nextCursor);
        setError(null);
      })
      .catch((e: Error) => !gone && setError(e.message))
      .finally(() => !gone && setLoading(false));
    return () => {
      gone = true;
    };
  }, [accountId, filters]);

  useEffect(
    () =>
      openLiveFeed(accountId, (m) => {
        const upsert = (incoming: Call[]) =>
          setCalls((list) => {
            let next = list;
            for (const c of incoming) {
              if (!matches(c, filters)) continue;
              const at = next.findIndex((x) => x.id === c.id);
              next = at >= 0 ? next.map((x, i) => (i === at ? { ...x, ...c, recordingStatus: c.recordingStatus ?? x.recordingStatus } : x)) : [c, ...next];
            }
            return next === list ? list : [...next].sort((a, b) => Date.parse(b.arrivedAt) - Date.parse(a.arrivedAt) || b.id - a.id);
          });
        if (m.kind === 'snapshot') upsert(m.calls);
        else if (m.kind === 'call') upsert([m.call]);
        else setCalls((list) => list.map((x) => (x.id === m.callId ? { ...x, recordingStatus: m.type === 'recording.ready' ? 'ready' : 'deleted' } : x)));
      }),
    [accountId, filters],
  );

  const more = async () => {
    if (!cursor) return;
    const page = await api<{ calls: Call[]; nextCursor: string | null }>('GET', `/v1/calls?${callsQuery(accountId, filters, { limit: '50', cursor })}`);
    setCalls((list) => [...list, ...page.calls.filter((c) => !list.some((x) => x.id === c.id))]);
    setCursor(page.nextCursor);
  };

  const csvHref = useMemo(() => `/v1/calls?${callsQuery(accountId, filters, { format: 'csv', limit: '500' })}`, [accountId, filters]);
  const field = (key: keyof CallFilters, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} name={key} value={draft[key]} onInput={(e) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value })} />
    </label>
  );

  return (
    <section aria-labelledby="calls-heading">
      <h1 id="calls-heading">Calls</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {field('q', 'Search (caller, name, tag, note)', 'search')}
        {field('from', 'From', 'date')}
        {field('to', 'To', 'date')}
        {field('did', 'Tracking number')}
        {field('source', 'Source')}
        {field('medium', 'Medium')}
        {field('campaign', 'Campaign')}
        <label>
          Outcome
          <select name="disposition" value={draft.disposition} onChange={(e) => setDraft({ ...draft, disposition: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {DISPOSITIONS.map((d) => (
              <option value={d}>{d}</option>
            ))}
          </select>
        </label>
        <label>
          First-time caller
          <select name="firstTimeCaller" value={draft.firstTimeCaller} onChange={(e) => setDraft({ ...draft, firstTimeCaller: (e.target as HTMLSelectElement).value as CallFilters['firstTimeCaller'] })}>
            <option value="">any</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </label>
        {field('callerNumber', 'Caller')}
        <div class="actions">
          <button type="submit">Filter</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
            }}
          >
            Clear
          </button>
          <a class="button secondary" href={csvHref} download>
            Export CSV
          </a>
        </div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="table-wrap">
        <table class="calls" aria-busy={loading}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Caller</th>
              <th scope="col">Tracking number</th>
              <th scope="col">Source</th>
              <th scope="col">Outcome</th>
              <th scope="col">Talk</th>
              <th scope="col">Recording</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr data-call-id={c.id} data-state={callState(c)}>
                <td>
                  <a href={`#/calls/${c.id}`}>{formatTime(c.arrivedAt, timeZone)}</a>
                </td>
                <td>
                  {formatNumber(c.callerNumber)}
                  {c.firstTimeCaller && <span class="badge">new</span>}
                </td>
                <td>{formatNumber(c.did)}</td>
                <td>{[c.source, c.medium, c.campaign].filter(Boolean).join(' / ') || '—'}</td>
                <td class={`state state-${callState(c).replace(/\s/g, '-')}`}>{callState(c)}</td>
                <td>{formatSeconds(c.talkSeconds)}</td>
                <td>{c.recordingStatus && c.recordingStatus !== 'none' ? c.recordingStatus : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && calls.length === 0 && <p>No calls match.</p>}
      {cursor && (
        <button type="button" onClick={() => void more()}>
          Older calls
        </button>
      )}
    </section>
  );
}

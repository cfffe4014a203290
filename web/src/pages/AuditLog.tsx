import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatTime } from '../format.js';

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
}

/** Who did what in the account, newest first, a page at a time (GET /v1/audit). */
export function AuditLog({ accountId, timeZone }: { accountId: number; timeZone?: string | undefined }) {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const page = (from: number | null) =>
    api<{ entries: AuditEntry[]; nextBefore: number | null }>('GET', `/v1/audit?accountId=${accountId}&limit=50${from === null ? '' : `&before=${from}`}`)
      .then((r) => {
        setEntries((list) => (from === null ? r.entries : [...list, ...r.entries]));
        setBefore(r.nextBefore);
      })
      .catch((e: Error) => setError(e.message));
  useEffect(() => void page(null), [accountId]);
  return (
    <section aria-labelledby="audit-heading">
      <h1 id="audit-heading">Audit log</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table class="calls">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">On</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr data-audit-id={e.id}>
                <td>{formatTime(e.at, timeZone)}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>{e.target ?? '—'}</td>
                <td>{e.ip ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {before !== null && (
        <button type="button" onClick={() => void page(before)}>
          Older entries
        </button>
      )}
    </section>
  );
}

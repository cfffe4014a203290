import { useEffect, useState } from 'preact/hooks';
import { api, may, problem, type Call, type Me, type Recording } from '../api.js';
import { DualChannelPlayer } from '../DualChannelPlayer.js';
import { callState, formatNumber, formatSeconds, formatTime } from '../format.js';

/** Tags, lead status, value and notes of a call, saved through PATCH /v1/calls/:id (a call.modified event). */
function Annotations({ call, onSaved }: { call: Call; onSaved: (c: Call) => void }) {
  const [tags, setTags] = useState(call.tags.join(', '));
  const [leadStatus, setLeadStatus] = useState(call.leadStatus ?? '');
  const [value, setValue] = useState(call.value === null ? '' : String(call.value));
  const [notes, setNotes] = useState(call.notes ?? '');
  const [message, setMessage] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const saved = await api<Call>('PATCH', `/v1/calls/${call.id}`, {
        tags: tags.split(',').map((t) => t.trim()).filter(Boolean),
        leadStatus: leadStatus || null,
        value: value === '' ? null : Number(value),
        notes: notes.trim() === '' ? null : notes,
      });
      onSaved(saved);
      setMessage('Saved.');
    } catch (err) {
      setMessage(problem(err));
    }
  };
  return (
    <form class="filters annotations" aria-label="What this call was" onSubmit={(e) => void save(e)}>
      <label>
        Tags (comma-separated)
        <input name="tags" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Lead status
        <select name="leadStatus" value={leadStatus} onChange={(e) => setLeadStatus((e.target as HTMLSelectElement).value)}>
          <option value="">not set</option>
          <option value="good-lead">good lead</option>
          <option value="not-a-lead">not a lead</option>
          <option value="unknown">unknown</option>
        </select>
      </label>
      <label>
        Value
        <input name="value" type="number" min="0" step="0.01" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      </label>
      <label class="wide">
        Notes
        <textarea name="notes" rows={2} value={notes} onInput={(e) => setNotes((e.target as HTMLTextAreaElement).value)} />
      </label>
      <div class="actions">
        <button type="submit">Save</button>
        {message && <span role="status">{message}</span>}
      </div>
    </form>
  );
}

function Row({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/**
 * One call: every field of its record, the visit it came from, the destinations tried, and its
 * recordings with a player (the browser seeks through the API's Range answers), download and,
 * for who may, delete.
 */
export function CallDetail({ id, me, timeZone }: { id: number; me: Me; timeZone?: string | undefined }) {
  const [call, setCall] = useState<Call | null>(null);
  const [recordings, setRecordings] = useState<Recording[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = () => {
    api<Call>('GET', `/v1/calls/${id}`)
      .then(setCall)
      .catch((e: Error) => setError(e.message));
    api<{ recordings: Recording[] }>('GET', `/v1/calls/${id}/recordings`)
      .then((r) => setRecordings(r.recordings))
      .catch(() => setRecordings([]));
  };
  useEffect(load, [id]);

  if (error) return <p role="alert" class="error">{error}</p>;
  if (!call) return <p>Loading…</p>;
  const remove = async (r: Recording) => {
    if (!confirm('Delete this recording for good?')) return;
    await api('DELETE', `/v1/recordings/${r.id}`);
    load();
  };
  return (
    <section aria-labelledby="call-heading">
      <p>
        <a href="#/calls">← Calls</a>
      </p>
      <h1 id="call-heading">
        Call from {formatNumber(call.callerNumber)} <span class={`state state-${callState(call).replace(/\s/g, '-')}`}>{callState(call)}</span>
      </h1>
      {recordings.map((r) => (
        <figure class="recording">
          <figcaption>
            Recording ({r.status}
            {r.durationSeconds !== null ? `, ${formatSeconds(r.durationSeconds)}` : ''}
            {r.channels === 'dual' ? ', two channels: caller left, answering party right' : ''})
          </figcaption>
          {r.status === 'ready' && (
            <>
              {r.channels === 'dual' ? (
                <DualChannelPlayer src={`/v1/recordings/${r.id}/audio`} recordingId={r.id} />
              ) : (
                <audio controls preload="metadata" src={`/v1/recordings/${r.id}/audio`} data-recording-id={r.id} />
              )}
              <div class="actions">
                <a class="button secondary" href={`/v1/recordings/${r.id}/audio`} download>
                  Download
                </a>
                {may(me, 'recordings:delete', call.accountId) && (
                  <button type="button" class="danger" onClick={() => void remove(r)}>
                    Delete
                  </button>
                )}
              </div>
            </>
          )}
        </figure>
      ))}
      {may(me, 'calls:annotate', call.accountId) && <Annotations call={call} onSaved={setCall} />}
      <div class="columns">
        <dl>
          <Row label="Arrived">{formatTime(call.arrivedAt, timeZone)}</Row>
          <Row label="Answered">{formatTime(call.answeredAt, timeZone)}</Row>
          <Row label="Ended">{formatTime(call.endedAt, timeZone)}</Row>
          <Row label="Ring / talk">
            {formatSeconds(call.ringSeconds)} / {formatSeconds(call.talkSeconds)}
          </Row>
          <Row label="Tracking number">{formatNumber(call.did)}</Row>
          <Row label="Caller">
            {formatNumber(call.callerNumber)} {call.callerName ?? ''} {call.firstTimeCaller ? '(first call)' : ''}
          </Row>
          <Row label="Destination">{call.answeredDestination ?? call.destination ?? '—'}</Row>
          <Row label="Tags">{call.tags.length ? call.tags.join(', ') : '—'}</Row>
          <Row label="Lead status">{call.leadStatus ?? '—'}</Row>
          <Row label="Value">{call.value ?? '—'}</Row>
          <Row label="Notes">{call.notes ?? '—'}</Row>
          {call.reconciled && <Row label="Finished by the router">{call.reconciledReason ?? 'the router restarted'}</Row>}
        </dl>
        <dl>
          <Row label="Source / medium / campaign">{[call.source, call.medium, call.campaign].map((v) => v ?? '—').join(' / ')}</Row>
          <Row label="Landing page">{call.landingPage ?? '—'}</Row>
          <Row label="Referrer">{call.referrer ?? '—'}</Row>
          <Row label="UTM">{call.utm ? Object.entries(call.utm).map(([k, v]) => `${k}=${v}`).join(', ') : '—'}</Row>
          <Row label="Click ids">{call.clickIds ? Object.entries(call.clickIds).map(([k, v]) => `${k}=${v}`).join(', ') : '—'}</Row>
          <Row label="Route">
            {call.destinationsTried.length === 0 ? (
              '—'
            ) : (
              <ol>
                {call.destinationsTried.map((t) => (
                  <li>
                    {t.step}: {t.target} — {t.outcome}
                  </li>
                ))}
              </ol>
            )}
          </Row>
          <Row label="Node">{call.nodeId || '—'}</Row>
          <Row label="SIP Call-ID">{call.sipCallId ?? '—'}</Row>
        </dl>
      </div>
    </section>
  );
}

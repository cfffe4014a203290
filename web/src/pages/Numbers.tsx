import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatNumber } from '../format.js';
import { Problem } from '../parts.js';
import { useLoaded } from '../useLoaded.js';

interface TrackingNumber {
  id: number;
  did: string;
  label: string | null;
  destination: string;
  enabled: boolean;
  source: string | null;
  routePlanId: number | null;
  poolId: number | null;
  recordingEnabled: boolean;
}

interface Named {
  id: number;
  name: string;
}

/**
 * Tracking numbers of the account: each with where it rings, its route plan or pool, on or off.
 * Who may change configuration adds numbers, edits destinations, attaches a route plan, turns
 * numbers on and off; everyone else reads. The API checks every change again.
 */
export function Numbers({ accountId, canWrite }: { accountId: number; canWrite: boolean }) {
  const { data, error, act } = useLoaded(
    () =>
      Promise.all([
        api<{ trackingNumbers: TrackingNumber[] }>('GET', `/v1/tracking-numbers?accountId=${accountId}`),
        api<{ routePlans: Named[] }>('GET', `/v1/route-plans?accountId=${accountId}`).catch(() => ({ routePlans: [] })),
        api<{ pools: Named[] }>('GET', `/v1/pools?accountId=${accountId}`).catch(() => ({ pools: [] })),
      ]),
    [accountId],
  );
  const numbers = data?.[0].trackingNumbers ?? [];
  const plans = data?.[1].routePlans ?? [];
  const pools = data?.[2].pools ?? [];
  const [draft, setDraft] = useState({ did: '', destination: '', label: '', source: '' });
  const [editing, setEditing] = useState<Record<number, string>>({});

  return (
    <section aria-labelledby="numbers-heading">
      <h1 id="numbers-heading">Tracking numbers</h1>
      <Problem error={error} />
      {canWrite && (
        <form
          class="filters"
          aria-label="Add a tracking number"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await api('POST', '/v1/tracking-numbers', {
                accountId,
                did: draft.did,
                destination: draft.destination,
                ...(draft.label ? { label: draft.label } : {}),
                ...(draft.source ? { source: draft.source } : {}),
              });
              setDraft({ did: '', destination: '', label: '', source: '' });
            });
          }}
        >
          {(['did', 'destination', 'label', 'source'] as const).map((key) => (
            <label>
              {{ did: 'Number', destination: 'Rings (number or sip: URI)', label: 'Label', source: 'Source' }[key]}
              <input name={key} value={draft[key]} required={key === 'did' || key === 'destination'} onInput={(e) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value })} />
            </label>
          ))}
          <div class="actions">
            <button type="submit">Add number</button>
          </div>
        </form>
      )}
      <div class="table-wrap">
        <table class="calls">
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col">Label</th>
              <th scope="col">Rings</th>
              <th scope="col">Route plan</th>
              <th scope="col">Pool</th>
              <th scope="col">Recorded</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {numbers.map((n) => (
              <tr data-number-id={n.id} data-did={n.did}>
                <td>{formatNumber(n.did)}</td>
                <td>{n.label ?? '—'}</td>
                <td>
                  {canWrite ? (
                    <form
                      class="inline"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const destination = editing[n.id];
                        if (destination !== undefined) void act(() => api('PATCH', `/v1/tracking-numbers/${n.id}`, { destination }));
                      }}
                    >
                      <input aria-label={`Destination of ${n.did}`} name="destination" value={editing[n.id] ?? n.destination} onInput={(e) => setEditing({ ...editing, [n.id]: (e.target as HTMLInputElement).value })} />
                      <button type="submit" class="secondary">
                        Save
                      </button>
                    </form>
                  ) : (
                    n.destination
                  )}
                </td>
                <td>
                  {canWrite ? (
                    <select
                      aria-label={`Route plan of ${n.did}`}
                      value={String(n.routePlanId ?? '')}
                      onChange={(e) => {
                        const v = (e.target as HTMLSelectElement).value;
                        void act(() => api('PATCH', `/v1/tracking-numbers/${n.id}`, { routePlanId: v ? Number(v) : null }));
                      }}
                    >
                      <option value="">none: ring the destination</option>
                      {plans.map((p) => (
                        <option value={String(p.id)}>{p.name}</option>
                      ))}
                    </select>
                  ) : (
                    (plans.find((p) => p.id === n.routePlanId)?.name ?? '—')
                  )}
                </td>
                <td>
                  {canWrite ? (
                    <select
                      aria-label={`Pool of ${n.did}`}
                      value={String(n.poolId ?? '')}
                      onChange={(e) => {
                        const v = (e.target as HTMLSelectElement).value;
                        void act(() => api('PATCH', `/v1/tracking-numbers/${n.id}`, { poolId: v ? Number(v) : null }));
                      }}
                    >
                      <option value="">none</option>
                      {pools.map((p) => (
                        <option value={String(p.id)}>{p.name}</option>
                      ))}
                    </select>
                  ) : (
                    (pools.find((p) => p.id === n.poolId)?.name ?? '—')
                  )}
                </td>
                <td>{n.recordingEnabled ? 'yes' : 'no'}</td>
                <td>
                  {n.enabled ? 'on' : 'off'}
                  {canWrite && (
                    <button type="button" class="secondary" onClick={() => void act(() => api('POST', `/v1/tracking-numbers/${n.id}/${n.enabled ? 'disable' : 'enable'}`))}>
                      {n.enabled ? 'Turn off' : 'Turn on'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatNumber } from '../format.js';
import { Problem, HiddenHeading } from '../parts.js';
import { useLoaded } from '../useLoaded.js';

interface Pool {
  id: number;
  name: string;
  source: string | null;
  fallbackTrackingNumberId: number | null;
  idleReleaseSeconds: number;
  releaseGraceSeconds: number;
  warnUtilization: number;
  exhaustedCount: number;
}
interface SourceRule {
  id: number;
  position: number;
  kind: 'param' | 'referrer_host' | 'referrer_group' | 'direct';
  match: string | null;
  value: string | null;
  source: string;
  medium: string | null;
  campaign: string | null;
}
interface NumberRow {
  id: number;
  did: string;
  label: string | null;
  poolId: number | null;
}

const KINDS = [
  ['param', 'landing page parameter'],
  ['referrer_host', 'referring site'],
  ['referrer_group', 'kind of referrer'],
  ['direct', 'no referrer (direct)'],
] as const;

const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;
const orNull = (s: string) => (s.trim() === '' ? null : s.trim());

/** What a rule matches, in words. */
function describeRule(r: SourceRule): string {
  if (r.kind === 'param') return r.value === null ? `landing page has ${r.match}` : `landing page ${r.match} = ${r.value}`;
  if (r.kind === 'referrer_host') return `came from ${r.match}`;
  if (r.kind === 'referrer_group') return r.match === 'any' ? 'came from any site' : `came from a ${r.match} site`;
  return 'came with no referrer';
}

/** Rule `r` goes before `above`: they trade places (two rules at one position are told apart, above after). */
async function swapOrder(r: SourceRule, above: SourceRule | undefined): Promise<void> {
  if (!above) return;
  const lower = Math.max(r.position, above.position + 1);
  await api('PATCH', `/v1/source-rules/${r.id}`, { position: above.position });
  await api('PATCH', `/v1/source-rules/${above.id}`, { position: lower });
}

function PoolCard({ pool, numbers, canWrite, act }: { pool: Pool; numbers: NumberRow[]; canWrite: boolean; act: (change: () => Promise<unknown>) => Promise<boolean> }) {
  const members = numbers.filter((n) => n.poolId === pool.id);
  const free = numbers.filter((n) => n.poolId === null);
  const [adding, setAdding] = useState('');
  const [draft, setDraft] = useState({ name: pool.name, source: pool.source ?? '', idleReleaseSeconds: String(pool.idleReleaseSeconds), fallback: String(pool.fallbackTrackingNumberId ?? '') });
  return (
    <article class="card" data-pool-id={pool.id} aria-labelledby={`pool-${pool.id}`}>
      <h3 id={`pool-${pool.id}`}>{pool.name}</h3>
      <p>
        {members.length} number{members.length === 1 ? '' : 's'}; exhausted {pool.exhaustedCount} time{pool.exhaustedCount === 1 ? '' : 's'} (a visitor then sees the fallback number)
      </p>
      {canWrite && (
        <form
          class="filters"
          aria-label={`Settings of pool ${pool.name}`}
          onSubmit={(e) => {
            e.preventDefault();
            void act(() =>
              api('PATCH', `/v1/pools/${pool.id}`, {
                name: draft.name,
                source: orNull(draft.source),
                idleReleaseSeconds: Number(draft.idleReleaseSeconds),
                fallbackTrackingNumberId: draft.fallback ? Number(draft.fallback) : null,
              }),
            );
          }}
        >
          <label>
            Name
            <input name="name" value={draft.name} required onInput={(e) => setDraft({ ...draft, name: value(e) })} />
          </label>
          <label>
            Only for visitors from source (empty: all)
            <input name="source" value={draft.source} onInput={(e) => setDraft({ ...draft, source: value(e) })} />
          </label>
          <label>
            A number returns to the pool after (s idle)
            <input name="idleReleaseSeconds" type="number" min="30" max="86400" value={draft.idleReleaseSeconds} onInput={(e) => setDraft({ ...draft, idleReleaseSeconds: value(e) })} />
          </label>
          <label>
            Fallback number when all are taken
            <select name="fallback" value={draft.fallback} onChange={(e) => setDraft({ ...draft, fallback: value(e) })}>
              <option value="">none</option>
              {numbers.map((n) => (
                <option value={String(n.id)}>{formatNumber(n.did)}</option>
              ))}
            </select>
          </label>
          <div class="actions">
            <button type="submit">Save pool</button>
            <button type="button" class="secondary" onClick={() => void act(() => api('DELETE', `/v1/pools/${pool.id}`))}>
              Delete pool
            </button>
          </div>
        </form>
      )}
      <ul class="plain">
        {members.map((n) => (
          <li data-did={n.did}>
            {formatNumber(n.did)} {n.label ? `(${n.label})` : ''}
            {canWrite && (
              <button type="button" class="secondary" onClick={() => void act(() => api('PATCH', `/v1/tracking-numbers/${n.id}`, { poolId: null }))}>
                Take out <span class="visually-hidden">{n.did}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
      {canWrite && free.length > 0 && (
        <form
          class="inline"
          aria-label={`Add a number to pool ${pool.name}`}
          onSubmit={(e) => {
            e.preventDefault();
            if (adding) void act(() => api('PATCH', `/v1/tracking-numbers/${adding}`, { poolId: pool.id })).then(() => setAdding(''));
          }}
        >
          <select aria-label={`Number to add to ${pool.name}`} value={adding} onChange={(e) => setAdding(value(e))}>
            <option value="">choose a number…</option>
            {free.map((n) => (
              <option value={String(n.id)}>{formatNumber(n.did)}</option>
            ))}
          </select>
          <button type="submit" class="secondary">
            Add to pool
          </button>
        </form>
      )}
    </article>
  );
}

/**
 * Where calls come from: number pools (one number per website visitor, so a call is tied to its visit)
 * and the source rules that name a visit's source, medium and campaign, first match wins.
 */
export function Sources({ accountId, canWrite }: { accountId: number; canWrite: boolean }) {
  const { data, error, act } = useLoaded(
    () =>
      Promise.all([
        api<{ pools: Pool[] }>('GET', `/v1/pools?accountId=${accountId}`),
        api<{ sourceRules: SourceRule[] }>('GET', `/v1/source-rules?accountId=${accountId}`),
        api<{ trackingNumbers: NumberRow[] }>('GET', `/v1/tracking-numbers?accountId=${accountId}`),
      ]),
    [accountId],
  );
  const [poolName, setPoolName] = useState('');
  const [rule, setRule] = useState({ kind: 'param', match: '', value: '', source: '', medium: '', campaign: '' });
  const pools = data?.[0].pools ?? [];
  const rules = [...(data?.[1].sourceRules ?? [])].sort((a, b) => a.position - b.position || a.id - b.id);
  const numbers = data?.[2].trackingNumbers ?? [];

  return (
    <section aria-labelledby="sources-heading">
      <h1 id="sources-heading">Sources and pools</h1>
      <Problem error={error} />
      <h2>Number pools</h2>
      {canWrite && (
        <form
          class="inline"
          aria-label="New number pool"
          onSubmit={(e) => {
            e.preventDefault();
            void act(() => api('POST', '/v1/pools', { accountId, name: poolName })).then((ok) => ok && setPoolName(''));
          }}
        >
          <input aria-label="Pool name" name="poolName" value={poolName} required placeholder="pool name" onInput={(e) => setPoolName(value(e))} />
          <button type="submit">New pool</button>
        </form>
      )}
      <div class="columns">
        {pools.map((p) => (
          <PoolCard key={p.id} pool={p} numbers={numbers} canWrite={canWrite} act={act} />
        ))}
      </div>
      {pools.length === 0 && <p>No pools: every visitor sees the number on the page.</p>}
      <h2>Source rules (first match wins)</h2>
      <div class="table-wrap">
        <table class="calls">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">When the visit</th>
              <th scope="col">Source</th>
              <th scope="col">Medium</th>
              <th scope="col">Campaign</th>
              <HiddenHeading label="Actions" />
            </tr>
          </thead>
          <tbody>
            {rules.map((r, i) => (
              <tr data-rule-id={r.id}>
                <td>{i + 1}</td>
                <td>{describeRule(r)}</td>
                <td>{r.source}</td>
                <td>{r.medium ?? '—'}</td>
                <td>{r.campaign ?? '—'}</td>
                <td>
                  {canWrite && (
                    <>
                      {i > 0 && (
                        <button type="button" class="secondary" onClick={() => void act(() => swapOrder(r, rules[i - 1]))}>
                          Move up
                        </button>
                      )}
                      <button type="button" class="secondary" onClick={() => void act(() => api('DELETE', `/v1/source-rules/${r.id}`))}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canWrite && (
        <form
          class="filters"
          aria-label="New source rule"
          onSubmit={(e) => {
            e.preventDefault();
            const position = (rules.at(-1)?.position ?? 0) + 10;
            void act(() =>
              api('POST', '/v1/source-rules', {
                accountId,
                position,
                kind: rule.kind,
                match: rule.kind === 'direct' ? null : orNull(rule.match),
                value: rule.kind === 'param' ? orNull(rule.value) : null,
                source: rule.source,
                medium: orNull(rule.medium),
                campaign: orNull(rule.campaign),
              }),
            ).then((ok) => ok && setRule({ kind: rule.kind, match: '', value: '', source: '', medium: '', campaign: '' }));
          }}
        >
          <label>
            When the visit
            <select name="kind" value={rule.kind} onChange={(e) => setRule({ ...rule, kind: value(e) })}>
              {KINDS.map(([k, label]) => (
                <option value={k}>{label}</option>
              ))}
            </select>
          </label>
          {rule.kind !== 'direct' && (
            <label>
              {rule.kind === 'param' ? 'Parameter (e.g. gclid, utm_source)' : rule.kind === 'referrer_host' ? 'Site (e.g. news.example.com)' : 'search, social or any'}
              <input name="match" value={rule.match} onInput={(e) => setRule({ ...rule, match: value(e) })} />
            </label>
          )}
          {rule.kind === 'param' && (
            <label>
              Equal to (empty: any value)
              <input name="value" value={rule.value} onInput={(e) => setRule({ ...rule, value: value(e) })} />
            </label>
          )}
          <label>
            Source
            <input name="source" value={rule.source} required onInput={(e) => setRule({ ...rule, source: value(e) })} />
          </label>
          <label>
            Medium
            <input name="medium" value={rule.medium} onInput={(e) => setRule({ ...rule, medium: value(e) })} />
          </label>
          <label>
            Campaign
            <input name="campaign" value={rule.campaign} onInput={(e) => setRule({ ...rule, campaign: value(e) })} />
          </label>
          <div class="actions">
            <button type="submit">Add rule</button>
          </div>
        </form>
      )}
    </section>
  );
}

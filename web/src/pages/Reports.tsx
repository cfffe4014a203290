import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../api.js';

interface ReportRow {
  value: string | null;
  calls: number;
  answered: number;
  answeredRate: number;
  firstTimeCallers: number;
}

interface PoolReport {
  poolId: number;
  name: string;
  held: number;
  total: number;
  utilization: number;
  warning: boolean;
  exhaustedCount: number;
}

interface Point {
  at: string;
  calls: number;
  answered: number;
  firstTimeCallers: number;
}

const GROUPS = [
  ['source', 'Source'],
  ['medium', 'Medium'],
  ['campaign', 'Campaign'],
  ['landingPage', 'Landing page'],
] as const;
const RANGES = [7, 30, 90] as const;
type Interval = 'day' | 'hour';
/** The API draws at most 800 points: hours over 30 days at most. */
const MAX_HOURLY_DAYS = 30;

/** Calls per hour of the day (0–23 in the account's time zone), from an hourly series. */
function byHourOfDay(points: Point[], timeZone?: string): { hour: number; calls: number; answered: number }[] {
  const hourOf = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) });
  const rows = Array.from({ length: 24 }, (_, hour) => ({ hour, calls: 0, answered: 0 }));
  for (const p of points) {
    const row = rows[Number(hourOf.format(new Date(p.at))) % 24];
    if (!row) continue;
    row.calls += p.calls;
    row.answered += p.answered;
  }
  return rows;
}

/** Calls and answered calls per day as a line chart (uPlot draws on a canvas; the table says the same in text). */
function Timeline({ points, per }: { points: Point[]; per: Interval }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data: uPlot.AlignedData = [points.map((p) => Date.parse(p.at) / 1000), points.map((p) => p.calls), points.map((p) => p.answered)];
    const chart = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 240,
        series: [{}, { label: 'Calls', stroke: '#1f5fbf', width: 2 }, { label: 'Answered', stroke: '#1b7a3d', width: 2 }],
        axes: [{}, { label: 'calls' }],
      },
      data,
      el,
    );
    const resize = () => chart.setSize({ width: Math.max(280, el.clientWidth), height: 240 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [points]);
  const total = points.reduce((a, p) => a + p.calls, 0);
  return <div class="chart" ref={box} role="img" aria-label={`Calls per ${per}: ${total} in all`} data-total-calls={total} data-points={points.length} />;
}

/** Where calls came from and which sources produce answered calls, over the last 7, 30 or 90 days. */
export function Reports({ accountId, timeZone }: { accountId: number; timeZone?: string }) {
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const [per, setPer] = useState<Interval>('day');
  const [groupBy, setGroupBy] = useState<(typeof GROUPS)[number][0]>('source');
  const [rows, setRows] = useState<ReportRow[]>([]);
  const [totals, setTotals] = useState<ReportRow | null>(null);
  const [points, setPoints] = useState<Point[]>([]);
  const [pools, setPools] = useState<PoolReport[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const to = new Date();
    const from = new Date(to.getTime() - days * 86_400_000);
    const range = `from=${from.toISOString()}&to=${to.toISOString()}&accountId=${accountId}`;
    Promise.all([
      api<{ rows: ReportRow[]; totals: ReportRow }>('GET', `/v1/reports/calls?groupBy=${groupBy}&${range}`),
      api<{ points: Point[] }>('GET', `/v1/reports/calls-over-time?interval=${per}&${range}`),
      api<{ pools: PoolReport[] }>('GET', `/v1/reports/pools?accountId=${accountId}`),
    ])
      .then(([report, timeline, poolReport]) => {
        setPools(poolReport.pools);
        setRows(report.rows);
        setTotals(report.totals);
        setPoints(timeline.points);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [accountId, days, groupBy, per]);
  const hours = per === 'hour' ? byHourOfDay(points, timeZone) : [];
  const busiest = Math.max(1, ...hours.map((h) => h.calls));

  return (
    <section aria-labelledby="reports-heading">
      <h1 id="reports-heading">Reports</h1>
      <div class="filters">
        <label>
          Range
          <select name="days" value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value) as (typeof RANGES)[number])}>
            {RANGES.map((d) => (
              <option value={String(d)} disabled={per === 'hour' && d > MAX_HOURLY_DAYS}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
        <label>
          Chart
          <select
            name="per"
            value={per}
            onChange={(e) => {
              const next = (e.target as HTMLSelectElement).value as Interval;
              if (next === 'hour' && days > MAX_HOURLY_DAYS) setDays(MAX_HOURLY_DAYS);
              setPer(next);
            }}
          >
            <option value="day">calls per day</option>
            <option value="hour">calls per hour</option>
          </select>
        </label>
        <label>
          By
          <select name="groupBy" value={groupBy} onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value as (typeof GROUPS)[number][0])}>
            {GROUPS.map(([value, label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
        </label>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      <h2>Calls per {per}</h2>
      <Timeline points={points} per={per} />
      {per === 'hour' && (
        <>
          <h2>By hour of the day</h2>
          <div class="table-wrap">
            <table class="report hours">
              <thead>
                <tr>
                  <th scope="col">Hour</th>
                  <th scope="col">Calls</th>
                  <th scope="col">Answered</th>
                </tr>
              </thead>
              <tbody>
                {hours.map((h) => (
                  <tr data-hour={h.hour}>
                    <td>
                      {String(h.hour).padStart(2, '0')}:00–{String(h.hour + 1).padStart(2, '0')}:00
                    </td>
                    <td>
                      <span class="bar-track" aria-hidden="true">
                        <span class="bar" style={{ width: `${Math.round((h.calls / busiest) * 100)}%` }} />
                      </span>
                      {h.calls}
                    </td>
                    <td>{h.answered}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h2>By {GROUPS.find(([g]) => g === groupBy)?.[1].toLowerCase()}</h2>
      <div class="table-wrap">
        <table class="report">
          <thead>
            <tr>
              <th scope="col">{GROUPS.find(([g]) => g === groupBy)?.[1]}</th>
              <th scope="col">Calls</th>
              <th scope="col">Answered</th>
              <th scope="col">Answered rate</th>
              <th scope="col">First-time callers</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-value={r.value ?? ''}>
                <td>{r.value ?? '(unknown)'}</td>
                <td>{r.calls}</td>
                <td>{r.answered}</td>
                <td>
                  <span class="bar-track" aria-hidden="true">
                    <span class="bar" style={{ width: `${Math.round(r.answeredRate * 100)}%` }} />
                  </span>
                  {Math.round(r.answeredRate * 100)} %
                </td>
                <td>{r.firstTimeCallers}</td>
              </tr>
            ))}
          </tbody>
          {totals && (
            <tfoot>
              <tr>
                <th scope="row">All</th>
                <td data-total="calls">{totals.calls}</td>
                <td>{totals.answered}</td>
                <td>{Math.round(totals.answeredRate * 100)} %</td>
                <td>{totals.firstTimeCallers}</td>
              </tr>
            </tfoot>
          )}
        </table>
      </div>
      {pools.length > 0 && (
        <>
          <h2>Number pools</h2>
          <div class="table-wrap">
            <table class="report">
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col">Numbers held</th>
                  <th scope="col">Utilisation</th>
                  <th scope="col">Times exhausted</th>
                </tr>
              </thead>
              <tbody>
                {pools.map((p) => (
                  <tr data-pool-id={p.poolId} class={p.warning ? 'warning' : undefined}>
                    <td>{p.name}</td>
                    <td>
                      {p.held} of {p.total}
                    </td>
                    <td>
                      {Math.round(p.utilization * 100)} %{p.warning ? ' — add numbers' : ''}
                    </td>
                    <td>{p.exhaustedCount}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Problem, HiddenHeading } from '../parts.js';
import { useLoaded } from '../useLoaded.js';

const STRATEGIES = [
  ['simultaneous', 'all at once (first to answer)'],
  ['sequential', 'one after another'],
  ['round-robin', 'round robin (by weight), then the rest'],
] as const;
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_NAMES: Record<(typeof WEEKDAYS)[number], string> = { mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday', sun: 'Sunday' };
const SIP_CODES = [[486, 'busy'], [480, 'unavailable'], [404, 'not found'], [403, 'forbidden'], [503, 'service unavailable'], [603, 'declined'], [410, 'gone']] as const;

interface Destination {
  target: string;
  weight?: number;
  ringTimeoutSeconds?: number;
}
interface Step {
  name: string;
  strategy: string;
  ringTimeoutSeconds: number;
  destinations: Destination[];
}
type Final = { kind: 'voicemail'; greeting: 'default' | number } | { kind: 'reject'; sipCode: number };
interface Plan {
  name: string;
  timeZone: string;
  callerIdMode: 'caller' | 'tracking';
  steps: Step[];
  schedule: { open: Partial<Record<(typeof WEEKDAYS)[number], [string, string][]>>; closedDates: string[]; afterHoursStep: string | null } | null;
  whisper: { sound: 'default' | 'custom'; announcementId?: number; text?: string } | null;
  screening: boolean;
  final: Final;
}
interface StoredPlan extends Plan {
  id: number;
  trackingNumberIds: number[];
}
interface Announcement {
  id: number;
  name: string;
}

/** "09:00-12:00, 13:00-17:00" ⇄ [["09:00","12:00"],["13:00","17:00"]]; the API says what is wrong with a bad one. */
function intervalsToText(list: [string, string][] | undefined): string {
  return (list ?? []).map(([a, b]) => `${a}-${b}`).join(', ');
}
function textToIntervals(text: string): [string, string][] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [a = '', b = ''] = part.split('-').map((t) => t.trim());
      return [a, b];
    });
}

function newPlan(): Plan {
  return {
    name: '',
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    callerIdMode: 'caller',
    steps: [{ name: 'main', strategy: 'simultaneous', ringTimeoutSeconds: 30, destinations: [{ target: '' }] }],
    schedule: null,
    whisper: null,
    screening: false,
    final: { kind: 'voicemail', greeting: 'default' },
  };
}

/** The fields the API takes (a stored plan's id, numbers and times are not sent back). */
function bodyOf(p: Plan): Plan {
  return {
    name: p.name,
    timeZone: p.timeZone,
    callerIdMode: p.callerIdMode,
    steps: p.steps.map((s) => ({
      ...s,
      destinations: s.destinations.map((d) => ({
        target: d.target,
        ...(d.weight ? { weight: d.weight } : {}),
        ...(d.ringTimeoutSeconds ? { ringTimeoutSeconds: d.ringTimeoutSeconds } : {}),
      })),
    })),
    schedule: p.schedule,
    whisper: p.whisper,
    screening: p.screening,
    final: p.final,
  };
}

const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;

function StepEditor({ step, index, update, remove }: { step: Step; index: number; update: (s: Step) => void; remove?: () => void }) {
  const setDestination = (i: number, d: Destination) => update({ ...step, destinations: step.destinations.map((x, j) => (j === i ? d : x)) });
  return (
    <fieldset class="step" data-step={index}>
      <legend>Step {index + 1}</legend>
      <div class="filters">
        <label>
          Name
          <input name={`step-${index}-name`} value={step.name} required onInput={(e) => update({ ...step, name: value(e) })} />
        </label>
        <label>
          Ring
          <select name={`step-${index}-strategy`} value={step.strategy} onChange={(e) => update({ ...step, strategy: value(e) })}>
            {STRATEGIES.map(([v, label]) => (
              <option value={v}>{label}</option>
            ))}
          </select>
        </label>
        <label>
          Ring for (seconds)
          <input name={`step-${index}-timeout`} type="number" min="5" max="300" value={String(step.ringTimeoutSeconds)} onInput={(e) => update({ ...step, ringTimeoutSeconds: Number(value(e)) })} />
        </label>
      </div>
      <table class="report">
        <thead>
          <tr>
            <th scope="col">Destination (number or sip: URI)</th>
            {step.strategy === 'round-robin' && <th scope="col">Weight</th>}
            <th scope="col">Own ring time (s)</th>
            <HiddenHeading label="Remove" />
          </tr>
        </thead>
        <tbody>
          {step.destinations.map((d, i) => (
            <tr>
              <td>
                <input aria-label={`Step ${index + 1} destination ${i + 1}`} name={`step-${index}-destination-${i}`} value={d.target} required onInput={(e) => setDestination(i, { ...d, target: value(e) })} />
              </td>
              {step.strategy === 'round-robin' && (
                <td>
                  <input aria-label={`Weight of destination ${i + 1}`} type="number" min="1" max="100" value={d.weight ? String(d.weight) : ''} onInput={(e) => setDestination(i, { ...d, weight: Number(value(e)) || undefined })} />
                </td>
              )}
              <td>
                <input aria-label={`Ring time of destination ${i + 1}`} type="number" min="5" max="300" value={d.ringTimeoutSeconds ? String(d.ringTimeoutSeconds) : ''} onInput={(e) => setDestination(i, { ...d, ringTimeoutSeconds: Number(value(e)) || undefined })} />
              </td>
              <td>
                {step.destinations.length > 1 && (
                  <button type="button" class="secondary" onClick={() => update({ ...step, destinations: step.destinations.filter((_, j) => j !== i) })}>
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => update({ ...step, destinations: [...step.destinations, { target: '' }] })}>
          Add destination
        </button>
        {remove && (
          <button type="button" class="secondary" onClick={remove}>
            Remove step {index + 1}
          </button>
        )}
      </div>
    </fieldset>
  );
}

function PlanEditor({ initial, id, announcements, onSave, onCancel }: { initial: Plan; id: number | null; announcements: Announcement[]; onSave: (plan: Plan) => Promise<boolean>; onCancel: () => void }) {
  const [plan, setPlan] = useState<Plan>(initial);
  const set = (change: Partial<Plan>) => setPlan({ ...plan, ...change });
  const schedule = plan.schedule;
  return (
    <form class="plan" aria-label={id === null ? 'New route plan' : `Route plan ${plan.name}`} onSubmit={(e) => {
        e.preventDefault();
        void onSave(bodyOf(plan));
      }}
    >
      <div class="filters">
        <label>
          Name
          <input name="name" value={plan.name} required onInput={(e) => set({ name: value(e) })} />
        </label>
        <label>
          Time zone (for open hours)
          <input name="timeZone" value={plan.timeZone} required onInput={(e) => set({ timeZone: value(e) })} />
        </label>
        <label>
          Destinations see
          <select name="callerIdMode" value={plan.callerIdMode} onChange={(e) => set({ callerIdMode: value(e) as Plan['callerIdMode'] })}>
            <option value="caller">the caller’s number</option>
            <option value="tracking">the tracking number</option>
          </select>
        </label>
      </div>
      <h2>Steps</h2>
      {plan.steps.map((s, i) => (
        <StepEditor
          step={s}
          index={i}
          update={(step) => set({ steps: plan.steps.map((x, j) => (j === i ? step : x)) })}
          remove={plan.steps.length > 1 ? () => set({ steps: plan.steps.filter((_, j) => j !== i) }) : undefined}
        />
      ))}
      <div class="actions">
        <button type="button" class="secondary" onClick={() => set({ steps: [...plan.steps, { name: `step ${plan.steps.length + 1}`, strategy: 'sequential', ringTimeoutSeconds: 30, destinations: [{ target: '' }] }] })}>
          Add step
        </button>
      </div>
      <h2>Open hours</h2>
      <label class="check">
        <input type="checkbox" name="scheduled" checked={schedule !== null} onChange={(e) => set({ schedule: (e.target as HTMLInputElement).checked ? { open: { mon: [['09:00', '17:00']], tue: [['09:00', '17:00']], wed: [['09:00', '17:00']], thu: [['09:00', '17:00']], fri: [['09:00', '17:00']] }, closedDates: [], afterHoursStep: null } : null })} />
        Ring only in open hours (otherwise always)
      </label>
      {schedule && (
        <div class="filters">
          {WEEKDAYS.map((d) => (
            <label>
              {DAY_NAMES[d]} (e.g. 09:00-17:00; empty: closed)
              <input name={`open-${d}`} value={intervalsToText(schedule.open[d])} onChange={(e) => set({ schedule: { ...schedule, open: { ...schedule.open, [d]: textToIntervals(value(e)) } } })} />
            </label>
          ))}
          <label class="wide">
            Closed dates (YYYY-MM-DD, comma-separated)
            <input name="closedDates" value={schedule.closedDates.join(', ')} onChange={(e) => set({ schedule: { ...schedule, closedDates: value(e).split(',').map((t) => t.trim()).filter(Boolean) } })} />
          </label>
          <label>
            Outside open hours
            <select name="afterHoursStep" value={schedule.afterHoursStep ?? ''} onChange={(e) => set({ schedule: { ...schedule, afterHoursStep: value(e) || null } })}>
              <option value="">straight to the end (below)</option>
              {plan.steps.slice(1).map((s) => (
                <option value={s.name}>ring from step “{s.name}” on</option>
              ))}
            </select>
          </label>
        </div>
      )}
      <h2>When a destination answers</h2>
      <div class="filters">
        <label>
          Whisper to who answers
          <select
            name="whisper"
            value={plan.whisper === null ? '' : plan.whisper.sound === 'custom' ? String(plan.whisper.announcementId ?? '') : 'default'}
            onChange={(e) => {
              const v = value(e);
              set({ whisper: v === '' ? null : v === 'default' ? { sound: 'default', ...(plan.whisper?.text ? { text: plan.whisper.text } : {}) } : { sound: 'custom', announcementId: Number(v), ...(plan.whisper?.text ? { text: plan.whisper.text } : {}) } });
            }}
          >
            <option value="">nothing</option>
            <option value="default">the standard whisper</option>
            {announcements.map((a) => (
              <option value={String(a.id)}>announcement “{a.name}”</option>
            ))}
          </select>
        </label>
        {plan.whisper && (
          <label>
            What the whisper says (a note for admins)
            <input name="whisperText" value={plan.whisper.text ?? ''} onInput={(e) => set({ whisper: plan.whisper && { ...plan.whisper, text: value(e) || undefined } })} />
          </label>
        )}
        <label class="check">
          <input type="checkbox" name="screening" checked={plan.screening} onChange={(e) => set({ screening: (e.target as HTMLInputElement).checked })} />
          Screening: who answers presses 1 to take the call
        </label>
      </div>
      <h2>When no step answers</h2>
      <div class="filters">
        <label>
          Then
          <select
            name="final"
            value={plan.final.kind === 'reject' ? `reject-${plan.final.sipCode}` : `voicemail-${plan.final.greeting}`}
            onChange={(e) => {
              const [kind, arg = ''] = value(e).split('-');
              set({ final: kind === 'reject' ? { kind: 'reject', sipCode: Number(arg) } : { kind: 'voicemail', greeting: arg === 'default' ? 'default' : Number(arg) } });
            }}
          >
            <option value="voicemail-default">voicemail, standard greeting</option>
            {announcements.map((a) => (
              <option value={`voicemail-${a.id}`}>voicemail, greeting “{a.name}”</option>
            ))}
            {SIP_CODES.map(([code, label]) => (
              <option value={`reject-${code}`}>
                refuse the call ({code} {label})
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="actions">
        <button type="submit">{id === null ? 'Create plan' : 'Save plan'}</button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/**
 * Route plans of the account: who rings, in which order, when; what who answers hears; what happens
 * when nobody does. Every save sends the whole plan (PUT), which the API validates as a whole and
 * answers with the first wrong field named.
 */
export function RoutePlans({ accountId, canWrite }: { accountId: number; canWrite: boolean }) {
  const { data, error, setError, act } = useLoaded(
    () =>
      Promise.all([
        api<{ routePlans: StoredPlan[] }>('GET', `/v1/route-plans?accountId=${accountId}`),
        api<{ announcements: Announcement[] }>('GET', `/v1/announcements?accountId=${accountId}`),
      ]),
    [accountId],
  );
  const [editing, setEditing] = useState<{ id: number | null; plan: Plan } | null>(null);
  const list = data?.[0].routePlans ?? [];
  const sounds = data?.[1].announcements ?? [];

  const save = async (plan: Plan): Promise<boolean> => {
    const id = editing?.id ?? null;
    const ok = await act(() => (id === null ? api('POST', '/v1/route-plans', { accountId, ...plan }) : api('PUT', `/v1/route-plans/${id}`, plan)));
    if (ok) setEditing(null);
    return ok;
  };
  const cancel = () => {
    setEditing(null);
    setError(null);
  };

  return (
    <section aria-labelledby="plans-heading">
      <h1 id="plans-heading">Route plans</h1>
      <Problem error={error} />
      {editing ? (
        <PlanEditor key={editing.id ?? 'new'} initial={editing.plan} id={editing.id} announcements={sounds} onSave={save} onCancel={cancel} />
      ) : (
        <>
          {canWrite && (
            <div class="actions">
              <button type="button" onClick={() => setEditing({ id: null, plan: newPlan() })}>
                New route plan
              </button>
            </div>
          )}
          <div class="table-wrap">
            <table class="calls">
              <thead>
                <tr>
                  <th scope="col">Plan</th>
                  <th scope="col">Steps</th>
                  <th scope="col">Open hours</th>
                  <th scope="col">Screening / whisper</th>
                  <th scope="col">Then</th>
                  <th scope="col">Numbers</th>
                  <HiddenHeading label="Actions" />
                </tr>
              </thead>
              <tbody>
                {list.map((p) => (
                  <tr data-plan-id={p.id}>
                    <td>{p.name}</td>
                    <td class="wrap">{p.steps.map((s) => `${s.name}: ${s.destinations.map((d) => d.target).join(', ')} (${s.strategy})`).join(' → ')}</td>
                    <td>{p.schedule ? `yes (${p.timeZone})` : 'always'}</td>
                    <td>{[p.screening ? 'screening' : null, p.whisper ? 'whisper' : null].filter(Boolean).join(', ') || '—'}</td>
                    <td>{p.final.kind === 'voicemail' ? 'voicemail' : `refuse (${p.final.sipCode})`}</td>
                    <td>{p.trackingNumberIds.length}</td>
                    <td>
                      {canWrite && (
                        <>
                          <button type="button" class="secondary" onClick={() => setEditing({ id: p.id, plan: bodyOf(p) })}>
                            Edit <span class="visually-hidden">{p.name}</span>
                          </button>
                          <button type="button" class="secondary" onClick={() => void act(() => api('DELETE', `/v1/route-plans/${p.id}`))}>
                            Delete <span class="visually-hidden">{p.name}</span>
                          </button>
                        </>
                      )}
                    </td>
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

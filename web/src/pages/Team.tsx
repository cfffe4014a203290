import { useState } from 'preact/hooks';
import { api, type Account } from '../api.js';
import { formatTime } from '../format.js';
import { Problem, HiddenHeading } from '../parts.js';
import { useAction, useLoaded } from '../useLoaded.js';

interface Member {
  user: { id: number; email: string; name: string | null };
  role: string;
  via: 'account' | 'agency';
}
interface Key {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const ROLES = [
  ['owner', 'owner: everything, people, keys, audit log'],
  ['manager', 'manager: configuration, calls, recordings'],
  ['analyst', 'analyst: calls and reports, no audio'],
  ['listener', 'listener: calls and recordings'],
] as const;

/** What a key may do, offered as bundles (the API takes any list of its scopes). */
const KEY_BUNDLES = [
  ['read', 'read calls, recordings and reports (a CRM)', ['accounts:read', 'calls:read', 'recordings:read', 'recordings:listen', 'reports:read']],
  ['annotate', 'read and tag calls', ['accounts:read', 'calls:read', 'calls:annotate', 'recordings:read', 'recordings:listen', 'reports:read']],
  ['configure', 'read and change configuration (provisioning)', ['accounts:read', 'configuration:read', 'configuration:write', 'calls:read', 'reports:read']],
  ['integrations', 'webhooks and conversions', ['accounts:read', 'calls:read', 'integrations:manage']],
] as const;

const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;
const inviteLink = (token: string) => `${location.origin}/sign-in#reset=${encodeURIComponent(token)}`;

/** A secret shown once: the person copies it now, the API never shows it again. */
function ShownOnce({ label, secret, kind }: { label: string; secret: string; kind: 'invitation' | 'key' }) {
  return (
    <div class="notice" role="status">
      <p>{label} It is shown only this once.</p>
      <pre class="tag" data-secret={kind}>
        {secret}
      </pre>
    </div>
  );
}

function AccountSettings({ account, canWrite, onSaved }: { account: Account; canWrite: boolean; onSaved: (a: Account) => void }) {
  const [name, setName] = useState(account.name);
  const [timeZone, setTimeZone] = useState(account.timeZone ?? '');
  const { error, act } = useAction();
  const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return (
    <form
      class="filters"
      aria-label="Account settings"
      onSubmit={(e) => {
        e.preventDefault();
        void act(async () => onSaved(await api<Account>('PATCH', `/v1/accounts/${account.id}`, { name, timeZone: timeZone || null })));
      }}
    >
      <label>
        Account name
        <input name="accountName" value={name} required disabled={!canWrite} onInput={(e) => setName(value(e))} />
      </label>
      <label>
        Time zone (times on every page)
        <input name="timeZone" list="time-zones" value={timeZone} disabled={!canWrite} placeholder="the browser’s" onInput={(e) => setTimeZone(value(e))} />
        <datalist id="time-zones">
          {zones.map((z) => (
            <option value={z} />
          ))}
        </datalist>
      </label>
      {canWrite && (
        <div class="actions">
          <button type="submit">Save settings</button>
        </div>
      )}
      {error && (
        <p role="alert" class="error wide">
          {error}
        </p>
      )}
    </form>
  );
}

function People({ accountId }: { accountId: number }) {
  const { data, error, act } = useLoaded(() => api<{ users: Member[] }>('GET', `/v1/accounts/${accountId}/users`), [accountId]);
  const [draft, setDraft] = useState({ email: '', name: '', role: 'listener' });
  const [shown, setShown] = useState<{ label: string; secret: string } | null>(null);
  const members = data?.users ?? [];
  return (
    <>
      <h2>People</h2>
      <Problem error={error} />
      {shown && <ShownOnce {...shown} kind="invitation" />}
      <form
        class="filters"
        aria-label="Invite a person"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const added = await api<{ invitation: { token: string } | null; user: { email: string } }>('PUT', `/v1/accounts/${accountId}/users`, {
              email: draft.email,
              role: draft.role,
              ...(draft.name ? { name: draft.name } : {}),
            });
            setShown(added.invitation ? { label: `Give ${added.user.email} this link to choose a password.`, secret: inviteLink(added.invitation.token) } : null);
            setDraft({ email: '', name: '', role: draft.role });
          });
        }}
      >
        <label>
          E-mail
          <input name="email" type="email" value={draft.email} required onInput={(e) => setDraft({ ...draft, email: value(e) })} />
        </label>
        <label>
          Name
          <input name="personName" value={draft.name} onInput={(e) => setDraft({ ...draft, name: value(e) })} />
        </label>
        <label>
          Role
          <select name="role" value={draft.role} onChange={(e) => setDraft({ ...draft, role: value(e) })}>
            {ROLES.map(([r, label]) => (
              <option value={r}>{label}</option>
            ))}
          </select>
        </label>
        <div class="actions">
          <button type="submit">Invite or change role</button>
        </div>
      </form>
      <div class="table-wrap">
        <table class="calls">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Role</th>
              <HiddenHeading label="Actions" />
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr data-email={m.user.email}>
                <td>
                  {m.user.name && m.user.name !== m.user.email ? `${m.user.name} <${m.user.email}>` : m.user.email}
                  {m.via === 'agency' && <span class="badge">agency</span>}
                </td>
                <td>{m.role}</td>
                <td>
                  {m.via === 'account' && (
                    <>
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          void act(async () => {
                            const reset = await api<{ token: string }>('POST', `/v1/users/${m.user.id}/password-reset`);
                            setShown({ label: `Give ${m.user.email} this link to choose a new password.`, secret: inviteLink(reset.token) });
                          })
                        }
                      >
                        Password reset link
                      </button>
                      <button type="button" class="secondary" onClick={() => void act(() => api('DELETE', `/v1/accounts/${accountId}/users/${m.user.id}`))}>
                        Remove <span class="visually-hidden">{m.user.email}</span>
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
  );
}

function Keys({ accountId, timeZone }: { accountId: number; timeZone?: string }) {
  const { data, error, act } = useLoaded(() => api<{ tokens: Key[] }>('GET', `/v1/accounts/${accountId}/tokens`), [accountId]);
  const [name, setName] = useState('');
  const [bundle, setBundle] = useState<string>(KEY_BUNDLES[0][0]);
  const [shown, setShown] = useState<string | null>(null);
  const keys = (data?.tokens ?? []).filter((k) => k.revokedAt === null);
  return (
    <>
      <h2>API keys</h2>
      <Problem error={error} />
      {shown && <ShownOnce kind="key" label="The new key (send it as Authorization: Bearer …)." secret={shown} />}
      <form
        class="filters"
        aria-label="New API key"
        onSubmit={(e) => {
          e.preventDefault();
          const scopes = KEY_BUNDLES.find(([b]) => b === bundle)?.[2] ?? KEY_BUNDLES[0][2];
          void act(async () => {
            const made = await api<{ token: string }>('POST', `/v1/accounts/${accountId}/tokens`, { name, scopes: [...scopes] });
            setShown(made.token);
            setName('');
          });
        }}
      >
        <label>
          Key name (who uses it)
          <input name="keyName" value={name} required onInput={(e) => setName(value(e))} />
        </label>
        <label>
          It may
          <select name="bundle" value={bundle} onChange={(e) => setBundle(value(e))}>
            {KEY_BUNDLES.map(([b, label]) => (
              <option value={b}>{label}</option>
            ))}
          </select>
        </label>
        <div class="actions">
          <button type="submit">Create key</button>
        </div>
      </form>
      <div class="table-wrap">
        <table class="calls">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Starts with</th>
              <th scope="col">May</th>
              <th scope="col">Last used</th>
              <HiddenHeading label="Actions" />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr data-key-id={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td class="wrap">{k.scopes.join(', ')}</td>
                <td>{formatTime(k.lastUsedAt, timeZone)}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => void act(() => api('DELETE', `/v1/accounts/${accountId}/tokens/${k.id}`))}>
                    Revoke <span class="visually-hidden">{k.name}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The account itself: its name and time zone, its people and their roles, its API keys. */
export function Team({
  account,
  canWrite,
  canManagePeople,
  canManageKeys,
  onSaved,
}: {
  account: Account;
  canWrite: boolean;
  canManagePeople: boolean;
  canManageKeys: boolean;
  onSaved: (a: Account) => void;
}) {
  return (
    <section aria-labelledby="team-heading">
      <h1 id="team-heading">Account</h1>
      <AccountSettings account={account} canWrite={canWrite} onSaved={onSaved} />
      {canManagePeople && <People accountId={account.id} />}
      {canManageKeys && <Keys accountId={account.id} timeZone={account.timeZone ?? undefined} />}
    </section>
  );
}

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, may, type Account, type Me } from './api.js';
import { CallDetail } from './pages/CallDetail.js';
import { CallLog } from './pages/CallLog.js';
import { AuditLog } from './pages/AuditLog.js';
import { Numbers } from './pages/Numbers.js';
import { Reports } from './pages/Reports.js';
import { Snippet } from './pages/Snippet.js';
import './app.css';

/** The page the address's hash names: #/calls, #/calls/:id, #/numbers, #/snippet, #/reports, #/audit. */
function useRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/calls');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/calls');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const ACCOUNT_KEY = 'callroute.account';

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [accountId, setAccountId] = useState<number | null>(null);
  const route = useRoute();

  useEffect(() => {
    void Promise.all([api<Me>('GET', '/v1/auth/me'), api<{ accounts: Account[] }>('GET', '/v1/accounts')]).then(([who, list]) => {
      setMe(who);
      setAccounts(list.accounts);
      const saved = Number(localStorage.getItem(ACCOUNT_KEY));
      setAccountId(list.accounts.some((a) => a.id === saved) ? saved : (list.accounts[0]?.id ?? null));
    });
  }, []);

  if (!me) return <p class="loading">Loading…</p>;
  const choose = (id: number) => {
    localStorage.setItem(ACCOUNT_KEY, String(id));
    setAccountId(id);
    location.hash = '#/calls';
  };
  const detail = /^#\/calls\/(\d+)$/.exec(route);
  const timeZone = accounts.find((a) => a.id === accountId)?.timeZone ?? undefined;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/calls">
          callroute
        </a>
        <nav aria-label="Main">
          <a href="#/calls" aria-current={route.startsWith('#/calls') ? 'page' : undefined}>
            Calls
          </a>
          {may(me, 'configuration:read', accountId) && (
            <a href="#/numbers" aria-current={route === '#/numbers' ? 'page' : undefined}>
              Numbers
            </a>
          )}
          {may(me, 'configuration:read', accountId) && (
            <a href="#/snippet" aria-current={route === '#/snippet' ? 'page' : undefined}>
              Website
            </a>
          )}
          {may(me, 'reports:read', accountId) && (
            <a href="#/reports" aria-current={route === '#/reports' ? 'page' : undefined}>
              Reports
            </a>
          )}
          {may(me, 'audit:read', accountId) && (
            <a href="#/audit" aria-current={route === '#/audit' ? 'page' : undefined}>
              Audit log
            </a>
          )}
        </nav>
        {accounts.length > 1 && (
          <label class="account">
            Account
            <select value={String(accountId ?? '')} onChange={(e) => choose(Number((e.target as HTMLSelectElement).value))}>
              {accounts.map((a) => (
                <option value={String(a.id)}>{a.name}</option>
              ))}
            </select>
          </label>
        )}
        {accounts.length === 1 && <span class="account">{accounts[0]?.name}</span>}
        <span class="who">{me.user?.email ?? (me.operator ? 'operator' : me.actor)}</span>
        <button
          type="button"
          class="secondary"
          onClick={() => void api('POST', '/v1/auth/logout').then(() => location.assign('/sign-in'))}
        >
          Sign out
        </button>
      </header>
      <main>
        {accountId === null ? (
          <p>No account to show.</p>
        ) : detail ? (
          <CallDetail id={Number(detail[1])} me={me} timeZone={timeZone} />
        ) : route === '#/numbers' && may(me, 'configuration:read', accountId) ? (
          <Numbers key={accountId} accountId={accountId} canWrite={may(me, 'configuration:write', accountId)} />
        ) : route === '#/snippet' && may(me, 'configuration:read', accountId) ? (
          <Snippet key={accountId} accountId={accountId} canWrite={may(me, 'configuration:write', accountId)} />
        ) : route === '#/audit' && may(me, 'audit:read', accountId) ? (
          <AuditLog key={accountId} accountId={accountId} timeZone={timeZone} />
        ) : route === '#/reports' && may(me, 'reports:read', accountId) ? (
          <Reports key={accountId} accountId={accountId} />
        ) : (
          <CallLog key={accountId} accountId={accountId} timeZone={timeZone} />
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);

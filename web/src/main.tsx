import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, may, type Account, type Me } from './api.js';
import { CallDetail } from './pages/CallDetail.js';
import { CallLog } from './pages/CallLog.js';
import { AuditLog } from './pages/AuditLog.js';
import { Numbers } from './pages/Numbers.js';
import { Reports } from './pages/Reports.js';
import { Snippet } from './pages/Snippet.js';
import { Announcements } from './pages/Announcements.js';
import { RoutePlans } from './pages/RoutePlans.js';
import { Sources } from './pages/Sources.js';
import { Team } from './pages/Team.js';
import './app.css';

/** The page the address's hash names: #/calls, #/calls/:id, #/numbers, #/plans, #/sources, #/announcements, #/snippet, #/reports, #/account, #/audit. */
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
  const account = accounts.find((a) => a.id === accountId);
  const timeZone = account?.timeZone ?? undefined;
  const can = (permission: string) => may(me, permission, accountId);
  // The pages the person may open in this account, in the menu's order; the API refuses the rest anyway.
  const pages = (
    [
      ['#/calls', 'Calls', can('calls:read')],
      ['#/numbers', 'Numbers', can('configuration:read')],
      ['#/plans', 'Route plans', can('configuration:read')],
      ['#/sources', 'Sources', can('configuration:read')],
      ['#/announcements', 'Announcements', can('configuration:read')],
      ['#/snippet', 'Website', can('configuration:read')],
      ['#/reports', 'Reports', can('reports:read')],
      ['#/account', 'Account', can('accounts:read')],
      ['#/audit', 'Audit log', can('audit:read')],
    ] as const
  ).filter(([, , allowed]) => allowed);
  const page = (hash: string, id: number) => {
    const write = can('configuration:write');
    const allowed = pages.some(([h]) => h === hash);
    if (!allowed) return <CallLog key={id} accountId={id} timeZone={timeZone} />;
    switch (hash) {
      case '#/numbers':
        return <Numbers key={id} accountId={id} canWrite={write} />;
      case '#/plans':
        return <RoutePlans key={id} accountId={id} canWrite={write} />;
      case '#/sources':
        return <Sources key={id} accountId={id} canWrite={write} />;
      case '#/announcements':
        return <Announcements key={id} accountId={id} canWrite={write} />;
      case '#/snippet':
        return <Snippet key={id} accountId={id} canWrite={write} />;
      case '#/reports':
        return <Reports key={id} accountId={id} timeZone={timeZone} />;
      case '#/audit':
        return <AuditLog key={id} accountId={id} timeZone={timeZone} />;
      case '#/account':
        return account ? (
          <Team
            key={id}
            account={account}
            canWrite={can('accounts:write')}
            canManagePeople={can('users:manage')}
            canManageKeys={can('keys:manage')}
            onSaved={(saved) => setAccounts(accounts.map((a) => (a.id === saved.id ? saved : a)))}
          />
        ) : null;
      default:
        return <CallLog key={id} accountId={id} timeZone={timeZone} />;
    }
  };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/calls">
          callroute
        </a>
        <nav aria-label="Main">
          {pages.map(([hash, label]) => (
            <a href={hash} aria-current={route === hash || route.startsWith(`${hash}/`) ? 'page' : undefined}>
              {label}
            </a>
          ))}
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
        {accountId === null ? <p>No account to show.</p> : detail ? <CallDetail id={Number(detail[1])} me={me} timeZone={timeZone} /> : page(route, accountId)}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);

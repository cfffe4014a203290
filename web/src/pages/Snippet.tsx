import { useEffect, useState } from 'preact/hooks';
import { api, problem } from '../api.js';

interface SnippetSettings {
  publicKey: string | null;
  allowedDomains: string[];
  attributionModel: string;
  attributionWindowDays: number;
  scriptTag: string | null;
}

/**
 * The website snippet: the tag to paste into the site (it shows each visitor a pool number and ties
 * their call to the visit), and the domains it may run on. Who may change configuration creates the
 * key and edits the domains.
 */
export function Snippet({ accountId, canWrite }: { accountId: number; canWrite: boolean }) {
  const [settings, setSettings] = useState<SnippetSettings | null>(null);
  const [domains, setDomains] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const load = () =>
    api<SnippetSettings>('GET', `/v1/accounts/${accountId}/snippet`).then((s) => {
      setSettings(s);
      setDomains(s.allowedDomains.join(', '));
    });
  useEffect(() => void load(), [accountId]);
  const act = async (change: () => Promise<unknown>, done: string) => {
    try {
      await change();
      await load();
      setMessage(done);
    } catch (e) {
      setMessage(problem(e));
    }
  };
  if (!settings) return <p>Loading…</p>;
  return (
    <section aria-labelledby="snippet-heading">
      <h1 id="snippet-heading">Website snippet</h1>
      {settings.scriptTag ? (
        <>
          <p>Paste this tag into every page of the website, before the closing body tag:</p>
          <pre class="tag" id="snippet-tag">
            {settings.scriptTag}
          </pre>
          <button type="button" onClick={() => void navigator.clipboard.writeText(settings.scriptTag ?? '').then(() => setMessage('Copied.'))}>
            Copy the tag
          </button>
        </>
      ) : (
        <p>The account has no snippet key yet.</p>
      )}
      {canWrite && !settings.scriptTag && (
        <button type="button" onClick={() => void act(() => api('POST', `/v1/accounts/${accountId}/snippet/key`), 'Key created.')}>
          Create the snippet key
        </button>
      )}
      <form
        class="filters"
        aria-label="Where the snippet runs"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => api('PATCH', `/v1/accounts/${accountId}/snippet`, { allowedDomains: domains.split(',').map((d) => d.trim()).filter(Boolean) }), 'Saved.');
        }}
      >
        <label class="wide">
          Domains it may run on (comma-separated; *.example.com for every subdomain)
          <input name="allowedDomains" value={domains} disabled={!canWrite} onInput={(e) => setDomains((e.target as HTMLInputElement).value)} />
        </label>
        {canWrite && (
          <div class="actions">
            <button type="submit">Save</button>
          </div>
        )}
      </form>
      <p>
        Attribution: {settings.attributionModel} touch, a returning visitor keeps their source {settings.attributionWindowDays} days.
      </p>
      {message && <p role="status">{message}</p>}
    </section>
  );
}

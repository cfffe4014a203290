import { useState } from 'preact/hooks';
import { api, send } from '../api.js';
import { formatSeconds } from '../format.js';
import { Problem, HiddenHeading } from '../parts.js';
import { useLoaded } from '../useLoaded.js';

interface Announcement {
  id: number;
  accountId: number | null;
  name: string;
  durationSeconds: number | null;
}

/**
 * The file goes up as the request body (the API takes raw audio, no multipart) and comes back as what
 * Asterisk plays; a refusal (not audio, too long) is the API's answer in words.
 */
async function upload(accountId: number, name: string, file: File): Promise<void> {
  await send(`/v1/announcements?accountId=${accountId}&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': file.type.startsWith('audio/') ? file.type : 'application/octet-stream' },
    body: file,
  });
}

/** Greetings and whispers the account's route plans and numbers play: upload, listen, delete. */
export function Announcements({ accountId, canWrite }: { accountId: number; canWrite: boolean }) {
  const { data, error, act } = useLoaded(() => api<{ announcements: Announcement[] }>('GET', `/v1/announcements?accountId=${accountId}`), [accountId]);
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const list = data?.announcements ?? [];

  return (
    <section aria-labelledby="announcements-heading">
      <h1 id="announcements-heading">Announcements</h1>
      <Problem error={error} />
      {canWrite && (
        <form
          class="filters"
          aria-label="Upload an announcement"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.target as HTMLFormElement;
            if (!file) return;
            setBusy(true);
            void act(() => upload(accountId, name, file)).then((ok) => {
              setBusy(false);
              if (ok) {
                setName('');
                setFile(null);
                form.reset();
              }
            });
          }}
        >
          <label>
            Name
            <input name="name" value={name} required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Audio file (WAV, MP3, Ogg, M4A…)
            <input name="file" type="file" accept="audio/*" required onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
          </label>
          <div class="actions">
            <button type="submit" disabled={busy}>
              {busy ? 'Converting…' : 'Upload'}
            </button>
          </div>
        </form>
      )}
      <div class="table-wrap">
        <table class="calls">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Length</th>
              <th scope="col">Listen</th>
              <HiddenHeading label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr data-announcement-id={a.id}>
                <td>
                  {a.name}
                  {a.accountId === null && <span class="badge">shared</span>}
                </td>
                <td>{formatSeconds(a.durationSeconds)}</td>
                <td>
                  <audio controls preload="none" src={`/v1/announcements/${a.id}/audio`} aria-label={`Play ${a.name}`} />
                </td>
                <td>
                  {canWrite && a.accountId !== null && (
                    <button type="button" class="secondary" onClick={() => void act(() => api('DELETE', `/v1/announcements/${a.id}`))}>
                      Delete <span class="visually-hidden">{a.name}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.length === 0 && <p>No announcements yet: plans use the standard greeting and whisper.</p>}
    </section>
  );
}

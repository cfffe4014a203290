import { useEffect, useState } from 'preact/hooks';
import { problem } from './api.js';

/**
 * Changes a page makes through the API: `act` runs one, then `after` (the page reads again); the last
 * refusal is kept in words, as the API said it.
 */
export function useAction(after: () => Promise<unknown> = () => Promise.resolve()) {
  const [error, setError] = useState<string | null>(null);
  /** Make a change; true when the API took it. */
  const act = async (change: () => Promise<unknown>): Promise<boolean> => {
    try {
      await change();
      setError(null);
      await after();
      return true;
    } catch (e) {
      setError(problem(e));
      return false;
    }
  };
  return { error, setError, act };
}

/**
 * What a configuration page shows: `load` read from the API when the page opens (and again after
 * every change made with `act`), and the last refusal in words. The API checks every change; the
 * page only shows what it answered.
 */
export function useLoaded<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const reload = () =>
    load()
      .then((d) => {
        setData(d);
        return d;
      })
      .catch((e: unknown) => {
        setError(problem(e));
        return null;
      });
  const { error, setError, act } = useAction(reload);
  useEffect(() => void reload(), deps);
  return { data, error, setError, reload, act };
}

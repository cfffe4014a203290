import { useEffect, useState } from 'preact/hooks';
import { problem } from './api.js';

/**
 * What a configuration page shows: `load` read from the API when the page opens (and again after
 * every change), the last refusal in words, and `act` to make a change then read again. The API
 * checks every change; the page only shows what it answered.
 */
export function useLoaded<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
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
  useEffect(() => void reload(), deps);
  /** Make a change; true when the API took it (the page is then read again). */
  const act = async (change: () => Promise<unknown>): Promise<boolean> => {
    try {
      await change();
      setError(null);
      await reload();
      return true;
    } catch (e) {
      setError(problem(e));
      return false;
    }
  };
  return { data, error, setError, reload, act };
}

import { describe, expect, it } from 'vitest';
import { createEventHub } from '../../src/events/createEventHub.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { sqliteStore, type Store } from '../../src/persistence/store.js';

describe('the live feed’s event hub', () => {
  it('a subscribe the database could not answer fails alone: the next one starts the feed', async () => {
    const real = sqliteStore(openDatabase(':memory:'));
    let down = true;
    const store: Store = { ...real, run: (work, options) => (down ? Promise.reject(new Error('database restarting')) : real.run(work, options)) };
    const hub = createEventHub({ store, logger: { warn: () => undefined }, pollMs: 10 });
    await expect(hub.subscribe(() => undefined)).rejects.toThrow(/restarting/);
    expect(hub.listeners).toBe(0);
    down = false;
    const sub = await hub.subscribe(() => undefined);
    expect(sub.from).toBe(0);
    expect(hub.listeners).toBe(1);
    sub.unsubscribe();
    hub.close();
    await real.close();
  });
});

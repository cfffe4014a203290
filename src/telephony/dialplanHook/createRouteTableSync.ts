import type { Logger } from 'pino';
import type { RoutableNumber, RoutePolicy } from '../../routing/resolveRoute.js';
import type { AriClient } from '../ari/types.js';
import { gateValue, newGeneration, ROUTE_TABLE_FAMILY, ROUTE_TABLE_GATE, routeTable, tableValue } from './routeTable.js';
import { withinMs } from '../../withinMs.js';

export interface RouteTableSyncDeps {
  ari: Pick<AriClient, 'state'> & { asterisk: Pick<AriClient['asterisk'], 'setVariable'> };
  /** Bumped by triggers whenever a tracking number changes (route_table_version). Read at every look. */
  version: () => number | Promise<number>;
  /** Every tracking number (a full read, only when the version moved). */
  numbers: () => RoutableNumber[] | Promise<RoutableNumber[]>;
  /** Every do-not-record and restricted caller (read with the numbers). */
  callerRules?: () => Parameters<typeof routeTable>[2] | Promise<Parameters<typeof routeTable>[2]>;
  policy: RoutePolicy & { defaultCountryCode: string };
  logger: Logger;
  /** MAX_CONCURRENT_CALLS (0: none), counted by the dialplan for every call. */
  maxConcurrentCalls: number;
  /** MAX_CALLS_PER_SECOND (0: none), counted by the dialplan for every call. */
  maxCallsPerSecond: number;
  /** False while the table must not route calls (shutting down): they then ask the router. */
  mayRoute: () => boolean;
  /** The round trip of each gate refresh (ms): Asterisk's REST latency, for the admission brake. */
  observeLatency?: (ms: number) => void;
  /** Wall clock, ms. */
  now?: () => number;
  /** How often the gate is refreshed and the version checked. Default 250 ms. */
  intervalMs?: number;
  /** How long the gate stays open without a refresh (s). Default 3. */
  gateSeconds?: number;
}

/** AstDB writes in flight at once while the whole table is written. */
const WRITE_CONCURRENCY = 16;

/**
 * Keeps the routing table in Asterisk's AstDB in step with the tracking numbers, and the gate
 * (global CR_GATE) open while it is: see routeTable.ts. Off the call path: it runs on a timer and
 * after API writes, and what it writes is read by the dialplan, never waited for by a call.
 *
 * - After every (re)connect the whole table is written in a new generation (routeTable.ts): the gate
 *   closes, every entry is written, and the gate reopens naming the new generation, so whatever AstDB
 *   still holds from before (the router cannot read it back) routes nothing.
 * - Afterwards only differences are written, removals (an empty value) first, so a disabled number
 *   stops routing from the table before anything else changes.
 * - A failure closes the gate (calls ask the router, which answers from the database) and the next
 *   tick writes the whole table again.
 */
export function createRouteTableSync(deps: RouteTableSyncDeps) {
  const { ari, logger } = deps;
  const now = deps.now ?? Date.now;
  const gateSeconds = deps.gateSeconds ?? 3;
  /** What AstDB holds, as last written; null: unknown (start, reconnect, failure). */
  let written: Map<string, string> | null = null;
  let writtenVersion = -1;
  /** The version the last look read (the database may be another machine's: read asynchronously). */
  let seenVersion = -2;
  /** The generation of the table in AstDB ('' until the first whole write: nothing in it is current). */
  let generation = '';
  let lastGenerationMs = 0;
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticking = false;
  let lastError = '';

  /** The gate open until that epoch second (0: shut), with the limits the dialplan counts against. */
  const gate = (openUntilSeconds: number): string => gateValue(openUntilSeconds, deps.maxConcurrentCalls, deps.maxCallsPerSecond, generation);
  const shut = (): string => gate(0);
  const set = (name: string, value: string): Promise<void> => ari.asterisk.setVariable(name, value);
  const keyOf = (dialed: string): string => `${ROUTE_TABLE_FAMILY}/${dialed}`;

  const inParallel = async <T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> => {
    for (let i = 0; i < items.length; i += WRITE_CONCURRENCY) await Promise.all(items.slice(i, i + WRITE_CONCURRENCY).map(work));
  };

  const writeWhole = async (desired: Map<string, string>): Promise<void> => {
    lastGenerationMs = Math.max(now(), lastGenerationMs + 1);
    generation = newGeneration(lastGenerationMs);
    await set(ROUTE_TABLE_GATE, shut());
    await inParallel([...desired], ([k, v]) => set(`DB(${keyOf(k)})`, tableValue(generation, v)));
    logger.info({ entries: desired.size, generation }, 'routing table written to asterisk');
  };

  const writeChanges = async (before: Map<string, string>, desired: Map<string, string>): Promise<void> => {
    const removed = [...before.keys()].filter((k) => !desired.has(k));
    const changed = [...desired].filter(([k, v]) => before.get(k) !== v);
    if (removed.length === 0 && changed.length === 0) return;
    await inParallel(removed, (k) => set(`DB(${keyOf(k)})`, ''));
    await inParallel(changed, ([k, v]) => set(`DB(${keyOf(k)})`, tableValue(generation, v)));
    logger.info({ removed: removed.length, changed: changed.length }, 'routing table updated in asterisk');
  };

  const syncOnce = async (): Promise<void> => {
    if (ari.state !== 'connected') return;
    const version = await deps.version();
    seenVersion = version;
    if (written !== null && version === writtenVersion) return;
    const desired = routeTable(await deps.numbers(), deps.policy, await deps.callerRules?.());
    const before = written;
    written = null;
    try {
      if (before === null) await writeWhole(desired);
      else await writeChanges(before, desired);
    } catch (err) {
      // Unknown state: close the gate if Asterisk still listens; the next tick writes it all again.
      await set(ROUTE_TABLE_GATE, shut()).catch(() => undefined);
      throw err;
    }
    written = desired;
    writtenVersion = version;
  };

  /** Runs after whatever sync is in flight; never rejects (failures are logged once per cause). */
  const sync = (): Promise<void> => {
    chain = chain.then(syncOnce).then(
      () => {
        lastError = '';
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (message !== lastError) logger.warn({ err }, 'routing table sync failed; calls ask the router meanwhile');
        lastError = message;
      },
    );
    return chain;
  };

  const tick = async (): Promise<void> => {
    if (ticking || stopped || ari.state !== 'connected') return;
    ticking = true;
    try {
      await sync();
      const open = written !== null && deps.mayRoute();
      const started = performance.now();
      await set(ROUTE_TABLE_GATE, open ? gate(Math.floor(now() / 1000) + gateSeconds) : shut());
      deps.observeLatency?.(performance.now() - started);
    } catch (err) {
      logger.debug({ err }, 'routing gate refresh failed');
    } finally {
      ticking = false;
    }
  };

  return {
    start(): void {
      timer = setInterval(() => void tick(), deps.intervalMs ?? 250);
      timer.unref();
    },
    /** Asterisk (re)connected: it may have restarted or missed changes, so the whole table is checked. */
    connected(): void {
      written = null;
      void tick();
    },
    /** Brings the table in step now (after an API write): resolves once Asterisk has it, or the attempt failed. */
    sync,
    /** True while Asterisk holds the table as of the last look at the version. */
    get inStep(): boolean {
      return written !== null && writtenVersion === seenVersion;
    },
    /** Stops refreshing and closes the gate, so calls follow the dialplan fallback once the router is gone. */
    async stop(timeoutMs = 1000): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      if (ari.state !== 'connected') return;
      await withinMs(set(ROUTE_TABLE_GATE, shut()).catch(() => undefined), timeoutMs);
    },
  };
}

export type RouteTableSync = ReturnType<typeof createRouteTableSync>;

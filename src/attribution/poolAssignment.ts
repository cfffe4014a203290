/** Timing settings of a visitor-level number pool. */
export interface PoolTiming {
  /** A number is released this long after its visitor's last heartbeat. */
  idleReleaseSeconds: number;
  /** A call this long after release still belongs to the visit. */
  releaseGraceSeconds: number;
}

/** A visit's hold on a pool number, as stored. */
export interface Hold {
  visitId: number;
  lastSeenAt: number;
  /** Set once the release was written; null while the hold is (or was until it idled out) live. */
  releasedAt: number | null;
}

export type HoldState = 'held' | 'in-grace' | 'gone';

/**
 * When a hold ends: the release time written, or else the moment it idles out (holds are released
 * lazily, so an unwritten release is computed from the last heartbeat).
 */
export function releaseTime(hold: Pick<Hold, 'lastSeenAt' | 'releasedAt'>, pool: Pick<PoolTiming, 'idleReleaseSeconds'>): number {
  return hold.releasedAt ?? hold.lastSeenAt + pool.idleReleaseSeconds * 1000;
}

/**
 * Whether a hold is live, ended but within the grace period (a call still belongs to the visit), or gone.
 *
 * @example holdState({ visitId: 1, lastSeenAt: 0, releasedAt: null }, { idleReleaseSeconds: 60, releaseGraceSeconds: 30 }, 70_000) // 'in-grace'
 */
export function holdState(hold: Pick<Hold, 'lastSeenAt' | 'releasedAt'>, pool: PoolTiming, now: number): HoldState {
  const end = releaseTime(hold, pool);
  if (now < end) return 'held';
  return now <= end + pool.releaseGraceSeconds * 1000 ? 'in-grace' : 'gone';
}

/** One number of a pool and what the visits say about it. */
export interface PoolNumberState {
  trackingNumberId: number;
  /** The visit holding it (release not written yet), if any. */
  holder: Hold | null;
  /** The latest written release of this number, if any. */
  lastReleasedAt: number | null;
}

export interface PoolChoice {
  /** Holds that idled out and must be written as released (at their release time) before reuse. */
  expired: { visitId: number; releasedAt: number }[];
  /** The number to give the visitor: free and least recently used; null when every number is held. */
  trackingNumberId: number | null;
  /** Numbers held after the expired ones are released. */
  held: number;
  total: number;
}

/**
 * Picks a pool number for a new visitor. Holds whose visitor stopped heartbeating for
 * `idleReleaseSeconds` are released; among free numbers the least recently used wins (never used
 * first, then the oldest release, then the lowest id), so a number just released stays unused as
 * long as possible and a late call on it still reaches the visit that held it. None free: null (the
 * caller shows the pool's fallback number and counts the exhaustion).
 *
 * @example choosePoolNumber([{ trackingNumberId: 7, holder: null, lastReleasedAt: null }], { idleReleaseSeconds: 900 }, now)
 * // { expired: [], trackingNumberId: 7, held: 0, total: 1 }
 */
export function choosePoolNumber(
  numbers: readonly PoolNumberState[],
  pool: Pick<PoolTiming, 'idleReleaseSeconds'>,
  now: number,
): PoolChoice {
  const expired: PoolChoice['expired'] = [];
  const free: { id: number; lastUsed: number | null }[] = [];
  let held = 0;
  for (const n of numbers) {
    if (n.holder && n.holder.releasedAt === null) {
      const end = releaseTime(n.holder, pool);
      if (now < end) {
        held += 1;
        continue;
      }
      expired.push({ visitId: n.holder.visitId, releasedAt: end });
      free.push({ id: n.trackingNumberId, lastUsed: Math.max(end, n.lastReleasedAt ?? end) });
      continue;
    }
    free.push({ id: n.trackingNumberId, lastUsed: n.lastReleasedAt });
  }
  free.sort((a, b) => {
    if (a.lastUsed !== b.lastUsed) {
      if (a.lastUsed === null) return -1;
      if (b.lastUsed === null) return 1;
      return a.lastUsed - b.lastUsed;
    }
    return a.id - b.id;
  });
  return { expired, trackingNumberId: free[0]?.id ?? null, held, total: numbers.length };
}

export interface PoolUtilization {
  held: number;
  total: number;
  /** held / total; 1 for a pool without numbers (every visitor gets the fallback). */
  utilization: number;
  /** Utilisation above the pool's warning threshold. */
  warning: boolean;
}

/**
 * @example poolUtilization(9, 10, 0.8) // { held: 9, total: 10, utilization: 0.9, warning: true }
 */
export function poolUtilization(held: number, total: number, warnUtilization: number): PoolUtilization {
  const utilization = total === 0 ? 1 : held / total;
  return { held, total, utilization, warning: utilization > warnUtilization };
}

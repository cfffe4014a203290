/** Times are integer ms inside callroute; everything it shows outside (API, events) is ISO 8601 UTC. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

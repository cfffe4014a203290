/** Announcements (uploaded prompts): works of ./store.ts. */
import { asc, eq } from 'drizzle-orm';
import type { AnnouncementRow } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

export interface AnnouncementInput {
  accountId: number | null;
  name: string;
  /** Filled in by `finishAnnouncement` once the id (part of the sound name) is known. */
  soundName: string;
}

export function createAnnouncement(input: AnnouncementInput, now: number = Date.now()): Work<AnnouncementRow> {
  return function* ({ db, t }) {
    return (yield* row(db.insert(t.announcements).values({ ...input, createdAt: now }).returning()))!;
  };
}

export function finishAnnouncement(id: number, done: { soundName: string; durationSeconds: number }): Work<AnnouncementRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.update(t.announcements).set(done).where(eq(t.announcements.id, id)).returning());
  };
}

export function getAnnouncement(id: number): Work<AnnouncementRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.announcements).where(eq(t.announcements.id, id)));
  };
}

export function listAnnouncements(filter: { accountId?: number } = {}): Work<AnnouncementRow[]> {
  return function* ({ db, t }) {
    const q = db.select().from(t.announcements);
    const filtered = filter.accountId === undefined ? q : q.where(eq(t.announcements.accountId, filter.accountId));
    return yield* rows(filtered.orderBy(asc(t.announcements.id)));
  };
}

/** Ids of the tracking numbers that play this announcement. */
export function trackingNumbersUsingAnnouncement(id: number): Work<number[]> {
  return function* ({ db, t }) {
    const n = t.trackingNumbers;
    return (yield* rows(db.select({ id: n.id }).from(n).where(eq(n.announcementId, id)).orderBy(asc(n.id)))).map((r) => r.id);
  };
}

export function deleteAnnouncement(id: number): Work<boolean> {
  return function* ({ db, t }) {
    return (yield* affected(db.delete(t.announcements).where(eq(t.announcements.id, id)))) > 0;
  };
}

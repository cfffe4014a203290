import { asc, eq } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { announcements, trackingNumbers, type AnnouncementRow } from './schema.js';

export interface AnnouncementInput {
  accountId: number | null;
  name: string;
  /** Filled in by `finishAnnouncement` once the id (part of the sound name) is known. */
  soundName: string;
}

export function createAnnouncement(db: Db, input: AnnouncementInput, now: number = Date.now()): AnnouncementRow {
  return db.insert(announcements).values({ ...input, createdAt: now }).returning().get();
}

export function finishAnnouncement(
  db: Db,
  id: number,
  done: { soundName: string; durationSeconds: number },
): AnnouncementRow | undefined {
  return db.update(announcements).set(done).where(eq(announcements.id, id)).returning().get();
}

export function getAnnouncement(db: Db, id: number): AnnouncementRow | undefined {
  return db.select().from(announcements).where(eq(announcements.id, id)).get();
}

export function listAnnouncements(db: Db, filter: { accountId?: number } = {}): AnnouncementRow[] {
  const q = db.select().from(announcements);
  const filtered = filter.accountId === undefined ? q : q.where(eq(announcements.accountId, filter.accountId));
  return filtered.orderBy(asc(announcements.id)).all();
}

/** Ids of the tracking numbers that play this announcement. */
export function trackingNumbersUsingAnnouncement(db: Db, id: number): number[] {
  return db
    .select({ id: trackingNumbers.id })
    .from(trackingNumbers)
    .where(eq(trackingNumbers.announcementId, id))
    .orderBy(asc(trackingNumbers.id))
    .all()
    .map((r) => r.id);
}

export function deleteAnnouncement(db: Db, id: number): boolean {
  return db.delete(announcements).where(eq(announcements.id, id)).run().changes > 0;
}

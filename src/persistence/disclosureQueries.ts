import { and, eq, inArray, sql } from 'drizzle-orm';
import { rows, type Work } from './store.js';

export interface Disclosures {
  /** Each call sent (or to be sent) to an ad platform as a conversion. */
  conversions: Array<{ callId: number; platform: string; destination: string; status: string; clickId: string | null; sentAt: number | null }>;
  /** Each webhook endpoint that received events of these calls: how many, first and last. */
  webhooks: Array<{ url: string; events: number; firstAt: number; lastAt: number }>;
}

/**
 * Who outside callroute was told about these calls (a privacy access request's "recipients"): the ad
 * platforms their conversions went to, and the webhook endpoints that took their events.
 */
export function disclosuresOfCalls(callIds: readonly number[]): Work<Disclosures> {
  return function* ({ db, t }) {
    const { conversions, conversionDestinations, webhookDeliveries, webhookEndpoints, events } = t;
    const out: Disclosures = { conversions: [], webhooks: [] };
    for (let i = 0; i < callIds.length; i += 500) {
      const ids = callIds.slice(i, i + 500);
      out.conversions.push(
        ...(yield* rows(
          db
            .select({ callId: conversions.callId, platform: conversionDestinations.platform, destination: conversionDestinations.name, status: conversions.status, clickId: conversions.clickId, sentAt: conversions.sentAt })
            .from(conversions)
            .innerJoin(conversionDestinations, eq(conversionDestinations.id, conversions.destinationId))
            .where(inArray(conversions.callId, ids)),
        )),
      );
      out.webhooks.push(
        ...(yield* rows(
          db
            .select({ url: webhookEndpoints.url, events: sql<number>`count(*)`, firstAt: sql<number>`min(${webhookDeliveries.deliveredAt})`, lastAt: sql<number>`max(${webhookDeliveries.deliveredAt})` })
            .from(webhookDeliveries)
            .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
            .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
            .where(and(inArray(webhookDeliveries.callId, ids), eq(webhookDeliveries.status, 'delivered')))
            .groupBy(webhookEndpoints.url),
        )),
      );
    }
    return out;
  };
}

import type { FastifyInstance } from 'fastify';
import { callsCursor, accountRetention, auditDue, callsDue, recordingsDue, visitsDue } from '../../persistence/retentionRepository.js';
import { DAY_MS, RETENTION_INTERVAL_MS, runRetention, SIGN_IN_GRACE_MS } from '../../privacy/runRetention.js';
import { iso } from '../apiSchemas.js';
import { requestedAccounts } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

/** One kind of data in the answer: how long it is kept, and what goes at the next run and after. */
async function plan(days: number | null, now: number, found: (cutoff: number) => Promise<{ due: number; oldestKept: number | null }>) {
  if (days === null) return { days: null, deletesBefore: null, due: 0, nextAt: null };
  const cutoff = now - days * DAY_MS;
  const { due, oldestKept } = await found(cutoff);
  return {
    days,
    // Everything older than this goes at the next run (within the hour)...
    deletesBefore: iso(cutoff),
    due,
    // ...and the oldest thing kept goes once it is this old.
    nextAt: oldestKept === null ? null : iso(oldestKept + days * DAY_MS),
  };
}

/**
 * GET /v1/privacy/retention: per account in scope, what the retention job removes and when (recordings,
 * call records, web visits, audit entries), and the installation's own rules (exports, sign-ins, the
 * operator's audit entries). POST /v1/privacy/retention/run runs the job now (the operator).
 */
export function retentionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, now, privacy, recordings: cfg, defaultCountryCode, webhooks, nodeId } = deps;

  app.get<{ Querystring: { accountId?: number } }>(
    '/privacy/retention',
    {
      config: { permission: 'privacy:manage' },
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { accountId: { type: 'integer', minimum: 1 } } } },
    },
    async (request) => {
      const t = now();
      const scope = requestedAccounts(request, request.query.accountId);
      return {
        runsEveryMinutes: RETENTION_INTERVAL_MS / 60_000,
        accounts: await Promise.all(
          (await store.run(accountRetention(scope))).map(async (a) => ({
            accountId: a.id,
            recordings: await plan(a.recordingRetentionDays, t, (cutoff) => store.run(recordingsDue(a.id, cutoff))),
            // Anonymised as an erasure does, with their recordings deleted; the reports keep counting them.
            callRecords: await plan(a.callRetentionDays, t, async (cutoff) => store.run(callsDue(a.id, cutoff, await store.run(callsCursor(a.id))))),
            visits: await plan(a.visitRetentionDays, t, (cutoff) => store.run(visitsDue(a.id, cutoff))),
            audit: await plan(a.auditRetentionDays, t, (cutoff) => store.run(auditDue(a.id, cutoff))),
          })),
        ),
        installation: {
          exports: { ttlSeconds: privacy.exports.ttlSeconds },
          signIns: { keptDaysAfterTheyEnd: SIGN_IN_GRACE_MS / DAY_MS },
          ...(scope === undefined ? { audit: await plan(privacy.installationAuditDays, t, (cutoff) => store.run(auditDue(null, cutoff))) } : {}),
        },
      };
    },
  );

  app.post(
    '/privacy/retention/run',
    { config: { permission: 'installation' } },
    async (request) =>
      runRetention({
        store,
        now,
        recordingsDir: cfg.dir,
        asteriskRoot: cfg.asteriskRoot,
        hashSecret: privacy.hashSecret,
        defaultCountryCode,
        installationAuditDays: privacy.installationAuditDays,
        ...(webhooks.eventRetentionDays !== undefined ? { eventRetentionDays: webhooks.eventRetentionDays } : {}),
        logger: request.log,
        nodeId,
      }),
  );
}

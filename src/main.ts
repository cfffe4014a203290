import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { apiRateLimits } from './api/apiGuards.js';
import { buildApp } from './api/buildApp.js';
import { asteriskRecordingWavPath } from './media/recordingPaths.js';
import { readWavInfo } from './media/readWavInfo.js';
import { loadConfig, type Config } from './config/loadConfig.js';
import { createLogger, flushLogger } from './logging/createLogger.js';
import { openCallPathState } from './openCallPathState.js';
import { createCallerPrivacyCache } from './privacy/callerPrivacy.js';
import { removeExpiredExports } from './privacy/exportFiles.js';
import { RETENTION_INTERVAL_MS, runRetention } from './privacy/runRetention.js';
import { amiSecret, sendAmiAction } from './telephony/ami/sendAmiAction.js';
import { createRecordingPipeline } from './media/createMediaJobQueue.js';
import { createWebhookDispatcher } from './integrations/webhooks/createWebhookDispatcher.js';
import { createConversionSender } from './integrations/conversions/createConversionSender.js';
import { createCpuBusyGauge } from './media/createCpuBusyGauge.js';
import { startRetentionTimer } from './media/purgeExpiredRecordings.js';
import { createNodeLease } from './cluster/createNodeLease.js';
import { createPlanProgram } from './telephony/session/createPlanProgram.js';
import { createAriClient } from './telephony/ari/createAriClient.js';
import { createDialplanAgiServer } from './telephony/dialplanHook/createDialplanAgiServer.js';
import { createEndReportTail } from './telephony/dialplanHook/createEndReportTail.js';
import { END_REPORT_FILE } from './telephony/dialplanHook/routeTable.js';
import { createRouteTableSync } from './telephony/dialplanHook/createRouteTableSync.js';
import { dialplanHookSecret } from './telephony/dialplanHook/dialplanHookSecret.js';
import { createDialplanArrivalWatcher } from './telephony/session/createDialplanArrivalWatcher.js';
import { createSessionRegistry } from './telephony/session/createSessionRegistry.js';
import { reconcileCalls } from './telephony/session/reconcileCalls.js';
import { withinMs } from './withinMs.js';

/** Name of the PJSIP endpoint in asterisk-config/pjsip.conf that reaches destinations. */
const OUTBOUND_ENDPOINT = 'destinations';
/** How long shutdown waits for live calls; bridged calls left after it keep talking and are resumed at the next start. */
const DRAIN_MS = 5_000;
/** Above this share of CPU at normal priority the machine counts as busy with calls (transcodes wait). */
const BUSY_CPU_PERCENT = 50;

async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  // The SQLite file, or the PostgreSQL database several nodes share (CALLROUTE_DB_URL).
  const state = await openCallPathState(config, logger);
  const { store, records, recordingStore } = state;
  logger.info({ database: state.database, nodeId: config.nodeId }, 'database open');
  // Transcoding runs off the call path; jobs a previous run left behind resume now.
  // Transcodes wait while calls keep the machine busy (more than half its CPU at normal priority).
  const cpu = createCpuBusyGauge();
  const pipeline = createRecordingPipeline({
    store,
    config,
    logger: logger.child({ component: 'media' }),
    options: { busy: () => cpu.percent() > BUSY_CPU_PERCENT },
  });
  pipeline.start();
  const onRecordingStopped = (id: number): void => state.whenStopWritten(id, () => pipeline.enqueue(id));
  // Several nodes on one database: each renews its lease; the calls of a node gone quiet are finished by the others.
  const nodeLease = createNodeLease({
    store,
    nodeId: config.nodeId,
    logger: logger.child({ component: 'node-lease' }),
    ttlMs: config.nodeLeaseSeconds * 1000,
  });
  void nodeLease.start();
  const stopRetention = startRetentionTimer({
    store,
    nodeId: config.nodeId,
    recordingsDir: config.recordings.dir,
    asteriskRoot: config.recordings.asteriskRoot,
    logger: logger.child({ component: 'retention' }),
    intervalMs: RETENTION_INTERVAL_MS,
    job: () =>
      runRetention({
        store,
        now: Date.now,
        recordingsDir: config.recordings.dir,
        asteriskRoot: config.recordings.asteriskRoot,
        hashSecret: config.privacy.hashSecret,
        defaultCountryCode: config.routing.defaultCountryCode,
        installationAuditDays: config.privacy.installationAuditDays,
        eventRetentionDays: config.webhooks.eventRetentionDays,
        nodeId: config.nodeId,
        logger: logger.child({ component: 'retention' }),
      }),
  });
  const ari = createAriClient({
    url: config.ari.url,
    username: config.ari.username,
    password: config.ari.password,
    app: config.ari.app,
    logger: logger.child({ component: 'ari' }),
  });
  // A privacy export lives as long as its link: archives past it are removed every minute.
  const exportSettings = { dir: config.privacy.exportsDir, ttlSeconds: config.privacy.exportTtlSeconds };
  const exportSweep = setInterval(() => {
    removeExpiredExports(exportSettings, Date.now()).then(
      (removed) => removed > 0 && logger.info({ removed }, 'expired privacy exports removed'),
      (err: unknown) => logger.warn({ err }, 'removing expired privacy exports failed'),
    );
  }, 60_000);
  exportSweep.unref();
  // The do-not-record list and restricted callers, in memory: the call path never reads them from disk.
  const callerPrivacy = createCallerPrivacyCache({
    ...state.callerPrivacy,
    onError: (err) => logger.warn({ err }, 'caller privacy rules could not be read; the ones held are kept'),
  });
  await callerPrivacy.refresh();
  callerPrivacy.start();
  const registry = createSessionRegistry({
    ari,
    records,
    findNumber: state.findNumber,
    callerPrivacy: callerPrivacy.lookup,
    policy: {
      rejectSipCode: config.routing.rejectSipCode,
      outboundEndpoint: OUTBOUND_ENDPOINT,
      defaultCountryCode: config.routing.defaultCountryCode,
    },
    logger: logger.child({ component: 'call' }),
    recordingStore,
    onRecordingStopped,
    // With the hand-off the dialplan counts calls per second for every carrier call (the gate carries
    // the limit); the router counting its Stasis calls again would halve what a second lets in.
    admission: { ...config.admission, maxCallsPerSecond: config.routing.dialplanHandOff ? 0 : config.admission.maxCallsPerSecond },
    recordedAudio: async (name) => {
      try {
        const wav = await readWavInfo(asteriskRecordingWavPath(config.recordings.asteriskRoot, name));
        return wav?.durationSeconds ? wav.durationSeconds : null;
      } catch {
        return null;
      }
    },
    amiAction: (action) => sendAmiAction({ host: config.ari.host, port: config.ari.amiPort, secret: amiSecret(config.ari.password) }, action),
    discardRecording: async (name) => {
      await rm(asteriskRecordingWavPath(config.recordings.asteriskRoot, name), { force: true });
    },
    ...(state.attribute ? { attribute: state.attribute } : {}),
    programFor: (number, call) => {
      const plan = number.routePlanId ? state.routePlan(number.routePlanId) : undefined;
      if (!plan) return null;
      return createPlanProgram({
        plan,
        now: new Date(Date.now() + config.routing.clockOffsetMs),
        callerNumber: call.callerNumber,
        did: call.did,
        outboundEndpoint: OUTBOUND_ENDPOINT,
        takeNextAction: state.takeNextAction,
      });
    },
  });

  // The routing table the dialplan reads by itself (most calls never wait for this process).
  const routeTable = config.routing.dialplanHandOff
    ? createRouteTableSync({
        ari,
        ...state.routeTable,
        callerRules: state.callerPrivacy.rules,
        policy: {
          rejectSipCode: config.routing.rejectSipCode,
          outboundEndpoint: OUTBOUND_ENDPOINT,
          defaultCountryCode: config.routing.defaultCountryCode,
        },
        logger: logger.child({ component: 'route-table' }),
        maxConcurrentCalls: config.admission.maxConcurrentCalls,
        maxCallsPerSecond: config.admission.maxCallsPerSecond,
        mayRoute: () => registry.tableMayRoute(),
        observeLatency: (ms) => registry.observeAriLatency(ms),
      })
    : undefined;
  routeTable?.start();
  // Calls routed by the table get their record while in progress, within a second.
  const arrivals = config.routing.dialplanHandOff
    ? createDialplanArrivalWatcher({ ari, registry, logger: logger.child({ component: 'arrivals' }), ignoreEndpoints: [OUTBOUND_ENDPOINT] })
    : undefined;
  arrivals?.start();
  // Calls the dialplan ran end with a line in the end report file; the ones that ended while we
  // were away are read now, before any reconciliation.
  const endReports = config.routing.dialplanHandOff
    ? createEndReportTail({
        file: join(config.recordings.asteriskRoot, END_REPORT_FILE),
        apply: (channelId, report) => registry.endReported(channelId, report),
        refused: (channelId, refusal) => registry.refusalReported(channelId, refusal),
        // The database away for a moment: the report is written when it is back, in order, not skipped.
        ...state.endReports,
        logger: logger.child({ component: 'end-reports' }),
      })
    : undefined;
  // Records an earlier run left that the end reports on file may name are known before they are read.
  await state.ready(join(config.recordings.asteriskRoot, END_REPORT_FILE));
  endReports?.start();

  // One reconciliation at a time, after every (re)connect: events missed while away are not replayed.
  let reconciling: Promise<unknown> = Promise.resolve();
  ari.onConnection((state) => {
    logger.info({ state }, 'asterisk connection');
    if (state !== 'connected') return;
    routeTable?.connected();
    const connectedAt = Date.now();
    reconciling = reconciling
      .then(() => reconcileCalls({ ari, records, registry, logger, connectedAt, recordingStore, onRecordingStopped, drainEndReports: endReports?.drain }))
      .then((report) => logger.info(report, 'reconciled with asterisk'))
      .catch((err: unknown) => logger.error({ err }, 'reconciliation failed'));
  });

  // Events reach webhook endpoints from the outbox, on their own timer: no call waits for a receiver.
  const webhooks = createWebhookDispatcher({ store, settings: config.webhooks, logger: logger.child({ component: 'webhooks' }) });
  void webhooks.start();
  const conversions = createConversionSender({
    store,
    settings: { ...config.webhooks, platformUrls: config.webhooks.conversionPlatformUrls },
    logger: logger.child({ component: 'conversions' }),
  });
  void conversions.start();

  const app = buildApp({
    store,
    logger,
    adminToken: config.adminToken,
    defaultCountryCode: config.routing.defaultCountryCode,
    telephonyStatus: () => ({ ari: ari.state, activeCalls: registry.activeCalls }),
    // A change to a number reaches Asterisk's routing table before the API answers.
    afterWrite: async () => {
      await Promise.all([state.refresh(), callerPrivacy.refresh(), routeTable?.sync()]);
    },
    recordings: config.recordings,
    nodeId: config.nodeId,
    trustProxy: config.http.trustProxy,
    apiRateLimits: apiRateLimits(config.http.apiRequestsPerSecond, config.http.authFailuresPerMinute),
    sessions: { idleMs: config.http.sessionIdleMinutes * 60_000, maxMs: config.http.sessionMaxHours * 3_600_000 },
    privacyHashSecret: config.privacy.hashSecret,
    privacyExports: exportSettings,
    installationAuditDays: config.privacy.installationAuditDays,
    erasureList: config.privacy.erasureList,
    recordingControl: (callId, paused) => registry.setRecordingPaused(callId, paused),
    webhooks: { allowedNetworks: config.webhooks.allowedNetworks, retryHours: config.webhooks.retryHours, eventRetentionDays: config.webhooks.eventRetentionDays, poke: webhooks.poke, pokeConversions: conversions.poke },
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  // The dialplan's routing door: without it every call takes the Stasis path (the dialplan's AGI fails fast).
  const hook = config.routing.dialplanHandOff
    ? createDialplanAgiServer({
        host: '127.0.0.1',
        port: config.routing.dialplanHookPort,
        secret: dialplanHookSecret(config.ari.password),
        logger: logger.child({ component: 'dialplan-agi' }),
        route: (channel) => registry.routeFromDialplan(channel),
      })
    : undefined;
  await hook?.listen();
  // Not awaited: HTTP serves health while ARI keeps retrying, and calls take the dialplan fallback meanwhile.
  ari.connect().catch((err: unknown) => {
    logger.fatal({ err }, 'cannot connect to asterisk');
    void shutdown(1);
  });

  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down');
    // Calls stop routing from the table first: from now on they ask us (and are refused), then,
    // once we are gone, they follow the dialplan fallback.
    await routeTable?.stop();
    arrivals?.stop();
    const left = await registry.drain(DRAIN_MS);
    endReports?.stop();
    if (left > 0) logger.info({ calls: left }, 'leaving bridged calls up; the next start resumes them');
    await hook?.close();
    await app.close();
    registry.close();
    callerPrivacy.stop();
    clearInterval(exportSweep);
    await ari.close();
    // Bounded: on PostgreSQL a reconciliation waits for queued record writes, which wait for the database.
    await withinMs(reconciling, DRAIN_MS);
    await webhooks.stop();
    await conversions.stop();
    await stopRetention();
    await nodeLease.stop();
    await pipeline.stop();
    await state.close();
    await flushLogger(logger);
    process.exit(code);
  }
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`callroute: ${(err as Error).message}\n`);
  process.exit(1);
}
main(config).catch((err: unknown) => {
  process.stderr.write(`callroute: start failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

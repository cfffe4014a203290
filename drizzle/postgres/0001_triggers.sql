-- The triggers of the SQLite migrations (0008, 0010, 0012, 0015, 0020, 0023), as PL/pgSQL: the
-- report rollup (call_report_days), route_table_version's bumps, the append-only audit log and the
-- event outbox. Payloads are the same JSON as SQLite's (camelCase keys, times in ms, booleans 0/1:
-- src/events/eventView.ts reads both); test/integration/postgresSchema.test.ts compares them.
INSERT INTO route_table_version (id, version) VALUES (1, 1);
--> statement-breakpoint
CREATE FUNCTION accounts_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'account', 'action', 'updated', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER accounts_events_update AFTER UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION accounts_events_update();
--> statement-breakpoint
CREATE FUNCTION announcements_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'announcement', 'action', 'deleted', 'id', old.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER announcements_events_delete AFTER DELETE ON announcements FOR EACH ROW EXECUTE FUNCTION announcements_events_delete();
--> statement-breakpoint
CREATE FUNCTION announcements_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'announcement', 'action', 'created', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER announcements_events_insert AFTER INSERT ON announcements FOR EACH ROW EXECUTE FUNCTION announcements_events_insert();
--> statement-breakpoint
CREATE FUNCTION announcements_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'announcement', 'action', 'updated', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER announcements_events_update AFTER UPDATE ON announcements FOR EACH ROW EXECUTE FUNCTION announcements_events_update();
--> statement-breakpoint
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
RAISE EXCEPTION 'audit_log is append-only';
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
--> statement-breakpoint
CREATE FUNCTION caller_privacy_rules_route_table_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE route_table_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER caller_privacy_rules_route_table_delete AFTER DELETE ON caller_privacy_rules FOR EACH ROW EXECUTE FUNCTION caller_privacy_rules_route_table_delete();
--> statement-breakpoint
CREATE FUNCTION caller_privacy_rules_route_table_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE route_table_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER caller_privacy_rules_route_table_insert AFTER INSERT ON caller_privacy_rules FOR EACH ROW EXECUTE FUNCTION caller_privacy_rules_route_table_insert();
--> statement-breakpoint
CREATE FUNCTION caller_privacy_rules_route_table_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE route_table_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER caller_privacy_rules_route_table_update AFTER UPDATE ON caller_privacy_rules FOR EACH ROW EXECUTE FUNCTION caller_privacy_rules_route_table_update();
--> statement-breakpoint
CREATE FUNCTION calls_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.arrived', new.account_id, new.id, new.arrived_at, json_build_object('call', json_build_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished::int, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled::int, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller::int, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff::int, 'restricted', new.restricted::int, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id));
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.ended', new.account_id, new.id, coalesce(new.ended_at, new.arrived_at), json_build_object('call', json_build_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished::int, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled::int, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller::int, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff::int, 'restricted', new.restricted::int, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id))
  WHERE new.finished;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER calls_events_insert AFTER INSERT ON calls FOR EACH ROW WHEN (new.account_id IS NOT NULL) EXECUTE FUNCTION calls_events_insert();
--> statement-breakpoint
CREATE FUNCTION calls_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.answered', new.account_id, new.id, new.answered_at, json_build_object('call', json_build_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished::int, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled::int, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller::int, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff::int, 'restricted', new.restricted::int, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id))
  WHERE old.answered_at IS NULL AND new.answered_at IS NOT NULL;
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.ended', new.account_id, new.id, coalesce(new.ended_at, (extract(epoch from clock_timestamp()) * 1000)::bigint), json_build_object('call', json_build_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished::int, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled::int, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller::int, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff::int, 'restricted', new.restricted::int, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id))
  WHERE NOT old.finished AND new.finished;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER calls_events_update AFTER UPDATE OF answered_at, finished ON calls FOR EACH ROW WHEN (new.account_id IS NOT NULL) EXECUTE FUNCTION calls_events_update();
--> statement-breakpoint
CREATE FUNCTION calls_report_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE call_report_days
     SET calls = call_report_days.calls - 1, answered = call_report_days.answered - (OLD.disposition IS NOT DISTINCT FROM 'answered')::int, first_time_callers = call_report_days.first_time_callers - coalesce(OLD.first_time_caller, false)::int
   WHERE account_id = OLD.account_id AND day = OLD.arrived_at / 86400000
     AND source = coalesce(OLD.source, '') AND medium = coalesce(OLD.medium, '') AND campaign = coalesce(OLD.campaign, '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER calls_report_days_delete AFTER DELETE ON calls FOR EACH ROW WHEN (OLD.account_id IS NOT NULL) EXECUTE FUNCTION calls_report_days_delete();
--> statement-breakpoint
CREATE FUNCTION calls_report_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO call_report_days (account_id, day, source, medium, campaign, calls, answered, first_time_callers)
  VALUES (NEW.account_id, NEW.arrived_at / 86400000, coalesce(NEW.source, ''), coalesce(NEW.medium, ''), coalesce(NEW.campaign, ''),
          1, (NEW.disposition IS NOT DISTINCT FROM 'answered')::int, coalesce(NEW.first_time_caller, false)::int)
  ON CONFLICT (account_id, day, source, medium, campaign) DO UPDATE SET
    calls = call_report_days.calls + 1, answered = call_report_days.answered + excluded.answered, first_time_callers = call_report_days.first_time_callers + excluded.first_time_callers;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER calls_report_days_insert AFTER INSERT ON calls FOR EACH ROW WHEN (NEW.account_id IS NOT NULL) EXECUTE FUNCTION calls_report_days_insert();
--> statement-breakpoint
CREATE FUNCTION calls_report_days_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE call_report_days
     SET calls = call_report_days.calls - 1, answered = call_report_days.answered - (OLD.disposition IS NOT DISTINCT FROM 'answered')::int, first_time_callers = call_report_days.first_time_callers - coalesce(OLD.first_time_caller, false)::int
   WHERE OLD.account_id IS NOT NULL AND account_id = OLD.account_id AND day = OLD.arrived_at / 86400000
     AND source = coalesce(OLD.source, '') AND medium = coalesce(OLD.medium, '') AND campaign = coalesce(OLD.campaign, '');
  INSERT INTO call_report_days (account_id, day, source, medium, campaign, calls, answered, first_time_callers)
  SELECT NEW.account_id, NEW.arrived_at / 86400000, coalesce(NEW.source, ''), coalesce(NEW.medium, ''), coalesce(NEW.campaign, ''),
         1, (NEW.disposition IS NOT DISTINCT FROM 'answered')::int, coalesce(NEW.first_time_caller, false)::int
   WHERE NEW.account_id IS NOT NULL
  ON CONFLICT (account_id, day, source, medium, campaign) DO UPDATE SET
    calls = call_report_days.calls + 1, answered = call_report_days.answered + excluded.answered, first_time_callers = call_report_days.first_time_callers + excluded.first_time_callers;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER calls_report_days_update AFTER UPDATE OF account_id, arrived_at, source, medium, campaign, disposition, first_time_caller ON calls FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.arrived_at IS DISTINCT FROM NEW.arrived_at OR OLD.source IS DISTINCT FROM NEW.source
  OR OLD.medium IS DISTINCT FROM NEW.medium OR OLD.campaign IS DISTINCT FROM NEW.campaign OR OLD.disposition IS DISTINCT FROM NEW.disposition
  OR OLD.first_time_caller IS DISTINCT FROM NEW.first_time_caller) EXECUTE FUNCTION calls_report_days_update();
--> statement-breakpoint
CREATE FUNCTION number_pools_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'number-pool', 'action', 'deleted', 'id', old.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER number_pools_events_delete AFTER DELETE ON number_pools FOR EACH ROW EXECUTE FUNCTION number_pools_events_delete();
--> statement-breakpoint
CREATE FUNCTION number_pools_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'number-pool', 'action', 'created', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER number_pools_events_insert AFTER INSERT ON number_pools FOR EACH ROW EXECUTE FUNCTION number_pools_events_insert();
--> statement-breakpoint
CREATE FUNCTION number_pools_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'number-pool', 'action', 'updated', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER number_pools_events_update AFTER UPDATE OF name, source, fallback_tracking_number_id, idle_release_seconds, release_grace_seconds, warn_utilization ON number_pools FOR EACH ROW EXECUTE FUNCTION number_pools_events_update();
--> statement-breakpoint
CREATE FUNCTION recordings_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'recording.ready', new.account_id, new.call_id, coalesce(new.ready_at, (extract(epoch from clock_timestamp()) * 1000)::bigint), json_build_object('recording', json_build_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'ready';
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'voicemail.left', new.account_id, new.call_id, coalesce(new.ready_at, (extract(epoch from clock_timestamp()) * 1000)::bigint), json_build_object('recording', json_build_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'ready' AND new.kind = 'voicemail';
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'recording.deleted', new.account_id, new.call_id, coalesce(new.deleted_at, (extract(epoch from clock_timestamp()) * 1000)::bigint), json_build_object('recording', json_build_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'deleted';
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'recording.expired', new.account_id, new.call_id, coalesce(new.deleted_at, (extract(epoch from clock_timestamp()) * 1000)::bigint), json_build_object('recording', json_build_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'expired';
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER recordings_events_update AFTER UPDATE OF status ON recordings FOR EACH ROW WHEN (new.account_id IS NOT NULL AND old.status <> new.status) EXECUTE FUNCTION recordings_events_update();
--> statement-breakpoint
CREATE FUNCTION route_plans_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'route-plan', 'action', 'deleted', 'id', old.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER route_plans_events_delete AFTER DELETE ON route_plans FOR EACH ROW EXECUTE FUNCTION route_plans_events_delete();
--> statement-breakpoint
CREATE FUNCTION route_plans_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'route-plan', 'action', 'created', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER route_plans_events_insert AFTER INSERT ON route_plans FOR EACH ROW EXECUTE FUNCTION route_plans_events_insert();
--> statement-breakpoint
CREATE FUNCTION route_plans_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'route-plan', 'action', 'updated', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER route_plans_events_update AFTER UPDATE ON route_plans FOR EACH ROW EXECUTE FUNCTION route_plans_events_update();
--> statement-breakpoint
CREATE FUNCTION source_rules_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'source-rule', 'action', 'deleted', 'id', old.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER source_rules_events_delete AFTER DELETE ON source_rules FOR EACH ROW EXECUTE FUNCTION source_rules_events_delete();
--> statement-breakpoint
CREATE FUNCTION source_rules_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'source-rule', 'action', 'created', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER source_rules_events_insert AFTER INSERT ON source_rules FOR EACH ROW EXECUTE FUNCTION source_rules_events_insert();
--> statement-breakpoint
CREATE FUNCTION source_rules_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('resource', 'source-rule', 'action', 'updated', 'id', new.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER source_rules_events_update AFTER UPDATE ON source_rules FOR EACH ROW EXECUTE FUNCTION source_rules_events_update();
--> statement-breakpoint
CREATE FUNCTION tracking_numbers_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'number.changed', old.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('action', 'deleted', 'number', json_build_object('id', old.id, 'accountId', old.account_id, 'did', old.did, 'label', old.label, 'destination', old.destination, 'ringTimeoutSeconds', old.ring_timeout_seconds, 'enabled', old.enabled::int, 'source', old.source, 'medium', old.medium, 'campaign', old.campaign, 'recordingEnabled', old.recording_enabled::int, 'recordingChannels', old.recording_channels, 'poolId', old.pool_id, 'routePlanId', old.route_plan_id, 'maxConcurrentCalls', old.max_concurrent_calls, 'updatedAt', old.updated_at));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tracking_numbers_events_delete AFTER DELETE ON tracking_numbers FOR EACH ROW EXECUTE FUNCTION tracking_numbers_events_delete();
--> statement-breakpoint
CREATE FUNCTION tracking_numbers_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'number.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('action', 'created', 'number', json_build_object('id', new.id, 'accountId', new.account_id, 'did', new.did, 'label', new.label, 'destination', new.destination, 'ringTimeoutSeconds', new.ring_timeout_seconds, 'enabled', new.enabled::int, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'recordingEnabled', new.recording_enabled::int, 'recordingChannels', new.recording_channels, 'poolId', new.pool_id, 'routePlanId', new.route_plan_id, 'maxConcurrentCalls', new.max_concurrent_calls, 'updatedAt', new.updated_at));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tracking_numbers_events_insert AFTER INSERT ON tracking_numbers FOR EACH ROW EXECUTE FUNCTION tracking_numbers_events_insert();
--> statement-breakpoint
CREATE FUNCTION tracking_numbers_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'number.changed', new.account_id, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint, json_build_object('action', 'updated', 'number', json_build_object('id', new.id, 'accountId', new.account_id, 'did', new.did, 'label', new.label, 'destination', new.destination, 'ringTimeoutSeconds', new.ring_timeout_seconds, 'enabled', new.enabled::int, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'recordingEnabled', new.recording_enabled::int, 'recordingChannels', new.recording_channels, 'poolId', new.pool_id, 'routePlanId', new.route_plan_id, 'maxConcurrentCalls', new.max_concurrent_calls, 'updatedAt', new.updated_at));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tracking_numbers_events_update AFTER UPDATE ON tracking_numbers FOR EACH ROW EXECUTE FUNCTION tracking_numbers_events_update();
--> statement-breakpoint
CREATE FUNCTION tracking_numbers_route_table_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE route_table_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tracking_numbers_route_table_delete AFTER DELETE ON tracking_numbers FOR EACH ROW EXECUTE FUNCTION tracking_numbers_route_table_delete();
--> statement-breakpoint
CREATE FUNCTION tracking_numbers_route_table_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE route_table_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tracking_numbers_route_table_insert AFTER INSERT ON tracking_numbers FOR EACH ROW EXECUTE FUNCTION tracking_numbers_route_table_insert();
--> statement-breakpoint
CREATE FUNCTION tracking_numbers_route_table_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
UPDATE route_table_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tracking_numbers_route_table_update AFTER UPDATE ON tracking_numbers FOR EACH ROW EXECUTE FUNCTION tracking_numbers_route_table_update();

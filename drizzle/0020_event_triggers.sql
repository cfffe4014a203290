-- The event stream's outbox (src/events): these triggers write the events of calls, recordings and
-- configuration in the same transaction as the change, whichever code makes it. A payload is the row's
-- columns at that moment (camelCase keys, times in ms, booleans 0/1); src/events/eventView.ts renders it.
-- Calls without an account (an unknown number) have no one to tell: no event.
-- Keep the column lists in step with schema.ts (test/unit/eventTriggers.test.ts checks every column).
CREATE TRIGGER `calls_events_insert` AFTER INSERT ON `calls` WHEN new.account_id IS NOT NULL
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.arrived', new.account_id, new.id, new.arrived_at, json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status));
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.ended', new.account_id, new.id, coalesce(new.ended_at, new.arrived_at), json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status))
  WHERE new.finished = 1;
END;
--> statement-breakpoint
-- One trigger for both, so answered always comes before ended when one update writes both (a call
-- the dialplan ran learns its answer time from its end report).
CREATE TRIGGER `calls_events_update` AFTER UPDATE OF `answered_at`, `finished` ON `calls` WHEN new.account_id IS NOT NULL
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.answered', new.account_id, new.id, new.answered_at, json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status))
  WHERE old.answered_at IS NULL AND new.answered_at IS NOT NULL;
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.ended', new.account_id, new.id, coalesce(new.ended_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)), json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status))
  WHERE old.finished = 0 AND new.finished = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `recordings_events_update` AFTER UPDATE OF `status` ON `recordings` WHEN new.account_id IS NOT NULL AND old.status <> new.status
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'recording.ready', new.account_id, new.call_id, coalesce(new.ready_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)), json_object('recording', json_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'ready';
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'voicemail.left', new.account_id, new.call_id, coalesce(new.ready_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)), json_object('recording', json_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'ready' AND new.kind = 'voicemail';
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'recording.deleted', new.account_id, new.call_id, coalesce(new.deleted_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)), json_object('recording', json_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'deleted';
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'recording.expired', new.account_id, new.call_id, coalesce(new.deleted_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)), json_object('recording', json_object('id', new.id, 'callId', new.call_id, 'accountId', new.account_id, 'kind', new.kind, 'status', new.status, 'channels', new.channels, 'startedAt', new.started_at, 'stoppedAt', new.stopped_at, 'format', new.format, 'contentType', new.content_type, 'sizeBytes', new.size_bytes, 'durationSeconds', new.duration_seconds, 'statusReason', new.status_reason, 'readyAt', new.ready_at, 'deletedAt', new.deleted_at))
  WHERE new.status = 'expired';
END;
--> statement-breakpoint
CREATE TRIGGER `tracking_numbers_events_insert` AFTER INSERT ON `tracking_numbers`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'number.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('action', 'created', 'number', json_object('id', new.id, 'accountId', new.account_id, 'did', new.did, 'label', new.label, 'destination', new.destination, 'ringTimeoutSeconds', new.ring_timeout_seconds, 'enabled', new.enabled, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'recordingEnabled', new.recording_enabled, 'recordingChannels', new.recording_channels, 'poolId', new.pool_id, 'routePlanId', new.route_plan_id, 'maxConcurrentCalls', new.max_concurrent_calls, 'updatedAt', new.updated_at));
END;
--> statement-breakpoint
CREATE TRIGGER `tracking_numbers_events_update` AFTER UPDATE ON `tracking_numbers`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'number.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('action', 'updated', 'number', json_object('id', new.id, 'accountId', new.account_id, 'did', new.did, 'label', new.label, 'destination', new.destination, 'ringTimeoutSeconds', new.ring_timeout_seconds, 'enabled', new.enabled, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'recordingEnabled', new.recording_enabled, 'recordingChannels', new.recording_channels, 'poolId', new.pool_id, 'routePlanId', new.route_plan_id, 'maxConcurrentCalls', new.max_concurrent_calls, 'updatedAt', new.updated_at));
END;
--> statement-breakpoint
CREATE TRIGGER `tracking_numbers_events_delete` AFTER DELETE ON `tracking_numbers`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'number.changed', old.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('action', 'deleted', 'number', json_object('id', old.id, 'accountId', old.account_id, 'did', old.did, 'label', old.label, 'destination', old.destination, 'ringTimeoutSeconds', old.ring_timeout_seconds, 'enabled', old.enabled, 'source', old.source, 'medium', old.medium, 'campaign', old.campaign, 'recordingEnabled', old.recording_enabled, 'recordingChannels', old.recording_channels, 'poolId', old.pool_id, 'routePlanId', old.route_plan_id, 'maxConcurrentCalls', old.max_concurrent_calls, 'updatedAt', old.updated_at));
END;
--> statement-breakpoint
CREATE TRIGGER `route_plans_events_insert` AFTER INSERT ON `route_plans`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'route-plan', 'action', 'created', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `route_plans_events_update` AFTER UPDATE ON `route_plans`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'route-plan', 'action', 'updated', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `route_plans_events_delete` AFTER DELETE ON `route_plans`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'route-plan', 'action', 'deleted', 'id', old.id);
END;
--> statement-breakpoint
CREATE TRIGGER `number_pools_events_insert` AFTER INSERT ON `number_pools`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'number-pool', 'action', 'created', 'id', new.id);
END;
--> statement-breakpoint
-- Not its exhaustion counter, which visits bump: that is no change of configuration.
CREATE TRIGGER `number_pools_events_update` AFTER UPDATE OF `name`, `source`, `fallback_tracking_number_id`, `idle_release_seconds`, `release_grace_seconds`, `warn_utilization` ON `number_pools`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'number-pool', 'action', 'updated', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `number_pools_events_delete` AFTER DELETE ON `number_pools`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'number-pool', 'action', 'deleted', 'id', old.id);
END;
--> statement-breakpoint
CREATE TRIGGER `source_rules_events_insert` AFTER INSERT ON `source_rules`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'source-rule', 'action', 'created', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `source_rules_events_update` AFTER UPDATE ON `source_rules`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'source-rule', 'action', 'updated', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `source_rules_events_delete` AFTER DELETE ON `source_rules`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'source-rule', 'action', 'deleted', 'id', old.id);
END;
--> statement-breakpoint
CREATE TRIGGER `announcements_events_insert` AFTER INSERT ON `announcements`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'announcement', 'action', 'created', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `announcements_events_update` AFTER UPDATE ON `announcements`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'announcement', 'action', 'updated', 'id', new.id);
END;
--> statement-breakpoint
CREATE TRIGGER `announcements_events_delete` AFTER DELETE ON `announcements`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', old.account_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'announcement', 'action', 'deleted', 'id', old.id);
END;
--> statement-breakpoint
CREATE TRIGGER `accounts_events_update` AFTER UPDATE ON `accounts`
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'configuration.changed', new.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER), json_object('resource', 'account', 'action', 'updated', 'id', new.id);
END;

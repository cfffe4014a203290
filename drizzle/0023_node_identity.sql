CREATE TABLE `node_leases` (
	`node_id` text PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`renewed_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `calls` ADD `reconciled_reason` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `node_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `calls` ADD `sip_call_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `calls_sip_call_unique` ON `calls` (`sip_call_id`);--> statement-breakpoint
ALTER TABLE `media_jobs` ADD `node_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `recordings` ADD `node_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- The call events carry the new columns (every column of calls, as test/unit/eventTriggers.test.ts checks).
DROP TRIGGER `calls_events_insert`;
--> statement-breakpoint
-- The event stream's outbox (src/events): these triggers write the events of calls, recordings and
-- configuration in the same transaction as the change, whichever code makes it. A payload is the row's
-- columns at that moment (camelCase keys, times in ms, booleans 0/1); src/events/eventView.ts renders it.
-- Calls without an account (an unknown number) have no one to tell: no event.
-- Keep the column lists in step with schema.ts (test/unit/eventTriggers.test.ts checks every column).
CREATE TRIGGER `calls_events_insert` AFTER INSERT ON `calls` WHEN new.account_id IS NOT NULL
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.arrived', new.account_id, new.id, new.arrived_at, json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id));
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.ended', new.account_id, new.id, coalesce(new.ended_at, new.arrived_at), json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id))
  WHERE new.finished = 1;
END;
--> statement-breakpoint
DROP TRIGGER `calls_events_update`;
--> statement-breakpoint
-- One trigger for both, so answered always comes before ended when one update writes both (a call
-- the dialplan ran learns its answer time from its end report).
CREATE TRIGGER `calls_events_update` AFTER UPDATE OF `answered_at`, `finished` ON `calls` WHEN new.account_id IS NOT NULL
BEGIN
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.answered', new.account_id, new.id, new.answered_at, json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id))
  WHERE old.answered_at IS NULL AND new.answered_at IS NOT NULL;
  INSERT INTO events (type, account_id, call_id, occurred_at, payload)
  SELECT 'call.ended', new.account_id, new.id, coalesce(new.ended_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)), json_object('call', json_object('id', new.id, 'accountId', new.account_id, 'trackingNumberId', new.tracking_number_id, 'did', new.did, 'callerNumber', new.caller_number, 'callerName', new.caller_name, 'source', new.source, 'medium', new.medium, 'campaign', new.campaign, 'destination', new.destination, 'finished', new.finished, 'disposition', new.disposition, 'sipCode', new.sip_code, 'hangupCause', new.hangup_cause, 'endedBy', new.ended_by, 'arrivedAt', new.arrived_at, 'answeredAt', new.answered_at, 'endedAt', new.ended_at, 'ringSeconds', new.ring_seconds, 'talkSeconds', new.talk_seconds, 'inboundChannelId', new.inbound_channel_id, 'outboundChannelId', new.outbound_channel_id, 'bridgeId', new.bridge_id, 'reconciled', new.reconciled, 'reconciledReason', new.reconciled_reason, 'visitId', new.visit_id, 'landingPage', new.landing_page, 'referrer', new.referrer, 'utm', new.utm, 'clickIds', new.click_ids, 'firstVisitAt', new.first_visit_at, 'firstTimeCaller', new.first_time_caller, 'recordingStatus', new.recording_status, 'routeStep', new.route_step, 'answeredDestination', new.answered_destination, 'destinationsTried', new.destinations_tried, 'dialplanHandOff', new.dialplan_handoff, 'restricted', new.restricted, 'recordingPauses', new.recording_pauses, 'tags', new.tags, 'notes', new.notes, 'value', new.value, 'leadStatus', new.lead_status, 'nodeId', new.node_id, 'sipCallId', new.sip_call_id))
  WHERE old.finished = 0 AND new.finished = 1;
END;

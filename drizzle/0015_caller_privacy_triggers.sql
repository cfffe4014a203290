-- The routing table Asterisk reads carries the callers of caller_privacy_rules (do-not-record and
-- restricted: their calls are not recorded), so any change to a rule bumps route_table_version as a
-- change to a tracking number does.
CREATE TRIGGER `caller_privacy_rules_route_table_insert` AFTER INSERT ON `caller_privacy_rules`
BEGIN
  UPDATE route_table_version SET version = version + 1 WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `caller_privacy_rules_route_table_update` AFTER UPDATE ON `caller_privacy_rules`
BEGIN
  UPDATE route_table_version SET version = version + 1 WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `caller_privacy_rules_route_table_delete` AFTER DELETE ON `caller_privacy_rules`
BEGIN
  UPDATE route_table_version SET version = version + 1 WHERE id = 1;
END;

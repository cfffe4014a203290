-- route_table_version follows tracking_numbers: any change to a number bumps the version, so the
-- router knows to refresh the routing table it keeps in Asterisk (AstDB family callroute_route).
INSERT INTO route_table_version (id, version) VALUES (1, 1);
--> statement-breakpoint
CREATE TRIGGER `tracking_numbers_route_table_insert` AFTER INSERT ON `tracking_numbers`
BEGIN
  UPDATE route_table_version SET version = version + 1 WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `tracking_numbers_route_table_update` AFTER UPDATE ON `tracking_numbers`
BEGIN
  UPDATE route_table_version SET version = version + 1 WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `tracking_numbers_route_table_delete` AFTER DELETE ON `tracking_numbers`
BEGIN
  UPDATE route_table_version SET version = version + 1 WHERE id = 1;
END;

-- The audit log is append-only: no entry is ever changed. (Deleting old entries is retention's job.)
CREATE TRIGGER `audit_log_append_only` BEFORE UPDATE ON `audit_log`
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
--> statement-breakpoint
-- Customer tokens made before keys had scopes keep exactly what they could do then.
UPDATE `api_tokens` SET `scopes` = '["calls:read","recordings:read","recordings:listen","recordings:delete","reports:read"]' WHERE `scopes` IS NULL;

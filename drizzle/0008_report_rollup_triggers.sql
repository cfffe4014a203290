-- call_report_days follows calls: one row per account, UTC day and source / medium / campaign
-- (unknown values are ''), counted on insert, moved on update, removed on delete.
CREATE TRIGGER `calls_report_days_insert` AFTER INSERT ON `calls` WHEN NEW.account_id IS NOT NULL
BEGIN
  INSERT INTO call_report_days (account_id, day, source, medium, campaign, calls, answered, first_time_callers)
  VALUES (NEW.account_id, NEW.arrived_at / 86400000, ifnull(NEW.source, ''), ifnull(NEW.medium, ''), ifnull(NEW.campaign, ''),
          1, NEW.disposition IS 'answered', NEW.first_time_caller IS 1)
  ON CONFLICT (account_id, day, source, medium, campaign) DO UPDATE SET
    calls = calls + 1, answered = answered + excluded.answered, first_time_callers = first_time_callers + excluded.first_time_callers;
END;
--> statement-breakpoint
CREATE TRIGGER `calls_report_days_update` AFTER UPDATE OF account_id, arrived_at, source, medium, campaign, disposition, first_time_caller ON `calls`
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.arrived_at IS NOT NEW.arrived_at OR OLD.source IS NOT NEW.source
  OR OLD.medium IS NOT NEW.medium OR OLD.campaign IS NOT NEW.campaign OR OLD.disposition IS NOT NEW.disposition
  OR OLD.first_time_caller IS NOT NEW.first_time_caller
BEGIN
  UPDATE call_report_days
     SET calls = calls - 1, answered = answered - (OLD.disposition IS 'answered'), first_time_callers = first_time_callers - (OLD.first_time_caller IS 1)
   WHERE OLD.account_id IS NOT NULL AND account_id = OLD.account_id AND day = OLD.arrived_at / 86400000
     AND source = ifnull(OLD.source, '') AND medium = ifnull(OLD.medium, '') AND campaign = ifnull(OLD.campaign, '');
  INSERT INTO call_report_days (account_id, day, source, medium, campaign, calls, answered, first_time_callers)
  SELECT NEW.account_id, NEW.arrived_at / 86400000, ifnull(NEW.source, ''), ifnull(NEW.medium, ''), ifnull(NEW.campaign, ''),
         1, NEW.disposition IS 'answered', NEW.first_time_caller IS 1
   WHERE NEW.account_id IS NOT NULL
  ON CONFLICT (account_id, day, source, medium, campaign) DO UPDATE SET
    calls = calls + 1, answered = answered + excluded.answered, first_time_callers = first_time_callers + excluded.first_time_callers;
END;
--> statement-breakpoint
CREATE TRIGGER `calls_report_days_delete` AFTER DELETE ON `calls` WHEN OLD.account_id IS NOT NULL
BEGIN
  UPDATE call_report_days
     SET calls = calls - 1, answered = answered - (OLD.disposition IS 'answered'), first_time_callers = first_time_callers - (OLD.first_time_caller IS 1)
   WHERE account_id = OLD.account_id AND day = OLD.arrived_at / 86400000
     AND source = ifnull(OLD.source, '') AND medium = ifnull(OLD.medium, '') AND campaign = ifnull(OLD.campaign, '');
END;
--> statement-breakpoint
INSERT INTO call_report_days (account_id, day, source, medium, campaign, calls, answered, first_time_callers)
SELECT account_id, arrived_at / 86400000, ifnull(source, ''), ifnull(medium, ''), ifnull(campaign, ''),
       count(*), sum(disposition IS 'answered'), sum(first_time_caller IS 1)
  FROM calls WHERE account_id IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5;

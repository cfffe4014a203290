CREATE TABLE `call_report_days` (
	`account_id` integer NOT NULL,
	`day` integer NOT NULL,
	`source` text NOT NULL,
	`medium` text NOT NULL,
	`campaign` text NOT NULL,
	`calls` integer NOT NULL,
	`answered` integer NOT NULL,
	`first_time_callers` integer NOT NULL,
	PRIMARY KEY(`account_id`, `day`, `source`, `medium`, `campaign`)
);
--> statement-breakpoint
CREATE INDEX `call_report_days_day_idx` ON `call_report_days` (`day`);
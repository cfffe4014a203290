CREATE TABLE `number_pools` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`name` text NOT NULL,
	`source` text,
	`fallback_tracking_number_id` integer,
	`idle_release_seconds` integer DEFAULT 900 NOT NULL,
	`release_grace_seconds` integer DEFAULT 600 NOT NULL,
	`warn_utilization` real DEFAULT 0.8 NOT NULL,
	`exhausted_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`fallback_tracking_number_id`) REFERENCES `tracking_numbers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `number_pools_account_idx` ON `number_pools` (`account_id`);--> statement-breakpoint
CREATE TABLE `source_rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`position` integer NOT NULL,
	`kind` text NOT NULL,
	`match` text,
	`value` text,
	`source` text NOT NULL,
	`medium` text,
	`campaign` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `source_rules_account_idx` ON `source_rules` (`account_id`,`position`);--> statement-breakpoint
CREATE TABLE `visits` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`visitor_id` text NOT NULL,
	`pool_id` integer,
	`tracking_number_id` integer,
	`assigned_at` integer,
	`last_seen_at` integer NOT NULL,
	`released_at` integer,
	`landing_page` text,
	`referrer` text,
	`utm` text,
	`click_ids` text,
	`source` text,
	`medium` text,
	`campaign` text,
	`first_visit_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `visits_visitor_idx` ON `visits` (`account_id`,`visitor_id`);--> statement-breakpoint
CREATE INDEX `visits_number_idx` ON `visits` (`tracking_number_id`,`released_at`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `public_key` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `allowed_domains` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `attribution_model` text DEFAULT 'first' NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `attribution_window_days` integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE `calls` ADD `visit_id` integer;--> statement-breakpoint
ALTER TABLE `calls` ADD `landing_page` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `referrer` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `utm` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `click_ids` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `first_visit_at` integer;--> statement-breakpoint
ALTER TABLE `calls` ADD `first_time_caller` integer;--> statement-breakpoint
CREATE INDEX `calls_account_caller_idx` ON `calls` (`account_id`,`caller_number`);--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `pool_id` integer;
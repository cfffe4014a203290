CREATE TABLE `dial_allowlist` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`note` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dial_allowlist_kind_value_unique` ON `dial_allowlist` (`kind`,`value`);--> statement-breakpoint
CREATE TABLE `route_plan_round_robin` (
	`plan_id` integer NOT NULL,
	`step_name` text NOT NULL,
	`counters` text DEFAULT '{}' NOT NULL,
	`calls` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`plan_id`, `step_name`),
	FOREIGN KEY (`plan_id`) REFERENCES `route_plans`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `route_plans` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`name` text NOT NULL,
	`time_zone` text NOT NULL,
	`caller_id_mode` text DEFAULT 'caller' NOT NULL,
	`definition` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `route_plans_account_idx` ON `route_plans` (`account_id`);--> statement-breakpoint
ALTER TABLE `calls` ADD `route_step` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `answered_destination` text;--> statement-breakpoint
ALTER TABLE `calls` ADD `destinations_tried` text;--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `route_plan_id` integer REFERENCES route_plans(id);--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `max_concurrent_calls` integer;
CREATE TABLE `retention_cursors` (
	`account_id` integer PRIMARY KEY NOT NULL,
	`calls_arrived_at` integer NOT NULL,
	`calls_id` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `call_retention_days` integer DEFAULT 730;--> statement-breakpoint
ALTER TABLE `accounts` ADD `visit_retention_days` integer DEFAULT 90;--> statement-breakpoint
ALTER TABLE `accounts` ADD `audit_retention_days` integer DEFAULT 365;
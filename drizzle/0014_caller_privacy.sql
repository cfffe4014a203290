CREATE TABLE `caller_privacy_rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`caller_number` text NOT NULL,
	`rule` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `caller_privacy_rules_unique` ON `caller_privacy_rules` (`account_id`,`caller_number`,`rule`);--> statement-breakpoint
ALTER TABLE `calls` ADD `restricted` integer DEFAULT false NOT NULL;
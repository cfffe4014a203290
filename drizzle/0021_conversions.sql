CREATE TABLE `conversion_destinations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`platform` text NOT NULL,
	`name` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`delivery` text DEFAULT 'api' NOT NULL,
	`settings` text NOT NULL,
	`rules` text NOT NULL,
	`conversion_name` text NOT NULL,
	`default_value` real,
	`currency` text DEFAULT 'USD' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `conversion_destinations_account_idx` ON `conversion_destinations` (`account_id`);--> statement-breakpoint
CREATE TABLE `conversions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`destination_id` integer NOT NULL,
	`call_id` integer NOT NULL,
	`account_id` integer NOT NULL,
	`status` text NOT NULL,
	`click_id` text,
	`conversion_time` integer NOT NULL,
	`value` real,
	`currency` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`give_up_at` integer NOT NULL,
	`payload` text,
	`last_status_code` integer,
	`last_error` text,
	`response_excerpt` text,
	`sent_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`destination_id`) REFERENCES `conversion_destinations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`call_id`) REFERENCES `calls`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversions_destination_call_unique` ON `conversions` (`destination_id`,`call_id`);--> statement-breakpoint
CREATE INDEX `conversions_due_idx` ON `conversions` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `conversions_call_idx` ON `conversions` (`call_id`);--> statement-breakpoint
CREATE INDEX `conversions_account_idx` ON `conversions` (`account_id`,`conversion_time`);
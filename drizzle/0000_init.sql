CREATE TABLE `accounts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `calls` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer,
	`tracking_number_id` integer,
	`did` text NOT NULL,
	`caller_number` text,
	`caller_name` text,
	`source` text,
	`medium` text,
	`campaign` text,
	`destination` text,
	`finished` integer DEFAULT false NOT NULL,
	`disposition` text,
	`sip_code` integer,
	`hangup_cause` integer,
	`ended_by` text,
	`arrived_at` integer NOT NULL,
	`answered_at` integer,
	`ended_at` integer,
	`ring_seconds` real,
	`talk_seconds` real,
	`inbound_channel_id` text NOT NULL,
	`outbound_channel_id` text,
	`bridge_id` text,
	`reconciled` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`tracking_number_id`) REFERENCES `tracking_numbers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `calls_arrived_idx` ON `calls` (`arrived_at`);--> statement-breakpoint
CREATE INDEX `calls_account_arrived_idx` ON `calls` (`account_id`,`arrived_at`);--> statement-breakpoint
CREATE INDEX `calls_did_arrived_idx` ON `calls` (`did`,`arrived_at`);--> statement-breakpoint
CREATE INDEX `calls_unfinished_idx` ON `calls` (`finished`) WHERE finished = 0;--> statement-breakpoint
CREATE UNIQUE INDEX `calls_inbound_channel_unique` ON `calls` (`inbound_channel_id`);--> statement-breakpoint
CREATE TABLE `tracking_numbers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`did` text NOT NULL,
	`label` text,
	`destination` text NOT NULL,
	`ring_timeout_seconds` integer DEFAULT 30 NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`source` text,
	`medium` text,
	`campaign` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tracking_numbers_did_unique` ON `tracking_numbers` (`did`);--> statement-breakpoint
CREATE INDEX `tracking_numbers_account_idx` ON `tracking_numbers` (`account_id`);
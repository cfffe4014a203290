CREATE TABLE `announcements` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer,
	`name` text NOT NULL,
	`sound_name` text NOT NULL,
	`duration_seconds` real,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`last_used_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_account_idx` ON `api_tokens` (`account_id`);--> statement-breakpoint
CREATE TABLE `media_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`recording_id` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`recording_id`) REFERENCES `recordings`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `media_jobs_status_idx` ON `media_jobs` (`status`,`id`);--> statement-breakpoint
CREATE TABLE `recordings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`call_id` integer NOT NULL,
	`account_id` integer,
	`kind` text DEFAULT 'call' NOT NULL,
	`status` text NOT NULL,
	`channels` text NOT NULL,
	`asterisk_names` text NOT NULL,
	`started_at` integer NOT NULL,
	`stopped_at` integer,
	`path` text,
	`format` text,
	`codec` text,
	`content_type` text,
	`size_bytes` integer,
	`duration_seconds` real,
	`sha256` text,
	`key_id` text,
	`status_reason` text,
	`ready_at` integer,
	`deleted_at` integer,
	FOREIGN KEY (`call_id`) REFERENCES `calls`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `recordings_call_idx` ON `recordings` (`call_id`);--> statement-breakpoint
CREATE INDEX `recordings_account_started_idx` ON `recordings` (`account_id`,`started_at`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `recording_retention_days` integer;--> statement-breakpoint
ALTER TABLE `calls` ADD `recording_status` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `recording_enabled` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `recording_channels` text DEFAULT 'mixed' NOT NULL;--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `announcement` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `tracking_numbers` ADD `announcement_id` integer REFERENCES announcements(id);
CREATE TABLE `privacy_requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`subject_hash` text NOT NULL,
	`account_id` integer,
	`actor` text NOT NULL,
	`result` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `privacy_requests_subject_idx` ON `privacy_requests` (`subject_hash`);
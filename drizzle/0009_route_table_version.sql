CREATE TABLE `route_table_version` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` integer NOT NULL
);

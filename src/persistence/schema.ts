/**
 * The SQLite schema, and its documentation: every table with what its columns mean, in three parts
 * by what they hold. Times are integer milliseconds since the epoch (UTC); the API renders ISO 8601.
 * The PostgreSQL dialect (./postgres/schema.ts) has the same tables, column for column.
 */
export * from './schemaCalls.js';
export * from './schemaAccess.js';
export * from './schemaFlows.js';

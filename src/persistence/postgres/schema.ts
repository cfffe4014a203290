/**
 * The PostgreSQL dialect of the schema (CALLROUTE_DB_URL=postgres://…), in two files of tables:
 * the same tables, columns, keys and indexes as ../schema.ts, which documents them
 * (test/integration/postgresSchema.test.ts holds the two side by side).
 */
export * from './callTables.js';
export * from './accessTables.js';

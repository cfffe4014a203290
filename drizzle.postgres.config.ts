import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL dialect's migrations (CALLROUTE_DB_URL=postgres://…); drizzle.config.ts is SQLite's. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/persistence/postgres/schema.ts',
  out: './drizzle/postgres',
});

import type { Db } from '../../persistence/openDatabase.js';

/** What a route file gets: the db and the settings it needs, never ARI handles. */
export interface RouteDeps {
  db: Db;
  defaultCountryCode: string;
}

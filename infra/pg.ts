/** A plain pg pool for the SQL-heavy paths (bulk ingest, aggregates) where raw SQL is clearer. */
import pg from 'pg';

export type { Pool } from 'pg';

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  return new pg.Pool({ connectionString: databaseUrl, max });
}

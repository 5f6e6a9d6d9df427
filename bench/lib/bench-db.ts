/** A database of the bench's own (expflow_bench on the local Postgres), migrated afresh each run. */
import pg from 'pg';
import { applyMigrations } from '../../db/schema-engine.js';

export async function freshBenchDatabase(databaseUrl: string, name = 'expflow_bench'): Promise<string> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  await applyMigrations(url.toString());
  return url.toString();
}

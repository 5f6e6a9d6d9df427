/** A database of the bench's own (expflow_bench on the local Postgres), migrated afresh each run. */
import { recreateDatabase } from '../../db/recreate.js';
import { applyMigrations } from '../../db/schema-engine.js';

export async function freshBenchDatabase(databaseUrl: string, name = 'expflow_bench'): Promise<string> {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  await recreateDatabase(url.toString());
  await applyMigrations(url.toString());
  return url.toString();
}

/** A plain pg pool for the SQL-heavy paths (bulk ingest, aggregates) where raw SQL is clearer. */
import pg from 'pg';

export type { Pool } from 'pg';

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  // An idle client whose server went away (restart, failover, pg_terminate_backend) emits 'error' on
  // the pool; unhandled, that would kill the process. The pool drops the client and connects anew.
  pool.on('error', (err) => console.error(`[pg] idle client lost: ${err.message}`));
  // The pool listens only while a client is idle. A checked-out client whose connection is cut
  // between queries emits 'error' on itself; its holder sees the failure on its next query and
  // releases it, and the pool discards it as no longer queryable.
  pool.on('connect', (client) => client.on('error', (err) => console.error(`[pg] connection lost: ${err.message}`)));
  return pool;
}

/**
 * Runs `fn` in a transaction on one client of the pool: committed when `fn` returns, rolled back
 * when it throws (the rollback's own failure, on a lost connection, is not the error reported).
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

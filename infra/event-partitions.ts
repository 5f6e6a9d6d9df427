/**
 * Daily partitions of "Event" (declarative range partitioning on "timestamp", UTC days). Writers
 * create a missing day on demand; the storage maintenance workflow creates days ahead and drops
 * expired ones. DDL runs under one advisory lock so concurrent creators cannot collide.
 */
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from './pg.js';
import { addDays, dayStart, type Day } from '../domain/storage/partition-plan.js';

const PARTITION_LOCK = 0x45767450; // "EvtP": serialises partition DDL across processes

export function partitionName(day: Day): string {
  return `Event_p${day}`;
}

/** Days that have a partition, oldest first. */
export async function listEventPartitions(pool: Pool | PoolClient): Promise<Day[]> {
  const res = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'Event' ORDER BY 1`,
  );
  return res.rows.map((r) => /^Event_p(\d{8})$/.exec(r.name)?.[1]).filter((d): d is string => d !== undefined);
}

async function withPartitionLock<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    return fn(client);
  });
}

/** Creates the partitions of `days` that do not exist yet; returns the ones it created. */
export async function createEventPartitions(pool: Pool, days: Day[]): Promise<Day[]> {
  if (!days.length) return [];
  return withPartitionLock(pool, async (c) => {
    const have = new Set(await listEventPartitions(c));
    const created: Day[] = [];
    for (const day of [...new Set(days)].sort()) {
      if (have.has(day)) continue;
      const from = dayStart(day).toISOString().replace('T', ' ').replace('Z', '');
      const to = dayStart(addDays(day, 1)).toISOString().replace('T', ' ').replace('Z', '');
      await c.query(`CREATE TABLE "${partitionName(day)}" PARTITION OF "Event" FOR VALUES FROM ('${from}') TO ('${to}')`);
      created.push(day);
    }
    return created;
  });
}

/** Drops the partitions of `days` (their events go with them); returns the ones it dropped. */
export async function dropEventPartitions(pool: Pool, days: Day[]): Promise<Day[]> {
  if (!days.length) return [];
  return withPartitionLock(pool, async (c) => {
    const have = new Set(await listEventPartitions(c));
    const dropped: Day[] = [];
    for (const day of [...new Set(days)].sort()) {
      if (!have.has(day)) continue;
      await c.query(`DROP TABLE "${partitionName(day)}"`);
      dropped.push(day);
    }
    return dropped;
  });
}

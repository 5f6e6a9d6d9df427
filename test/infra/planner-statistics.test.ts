/**
 * A refresh after a burst plans on statistics that know the burst. On a cluster of its own with
 * autovacuum off (so nothing else analyzes), statistics are taken while the experiment is empty,
 * then 20k units are exposed and act. Before analyzeStaleTables the planner still believed the
 * experiment had one exposure and one aggregate row, and looped where it should hash: bench:cycle's
 * 10k-new-events cycle at 100k units took 176 s, 1.4 s after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { addDays, dayOf } from '../../domain/storage/partition-plan.js';
import { createEventPartitions } from '../../infra/event-partitions.js';
import { createPool } from '../../infra/pg.js';
import { analyzeStaleTables } from '../../infra/planner-statistics.js';
import { refreshUnitAggregates } from '../../infra/unit-aggregates.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { insertExperiment } from '../helpers/seed-data.js';

let server: PrivatePostgres;
let pool: Pool;

beforeAll(async () => {
  server = await PrivatePostgres.start();
  pool = createPool(server.url, 4);
  await pool.query('ALTER SYSTEM SET autovacuum = off');
  await pool.query('SELECT pg_reload_conf()');
  const today = dayOf(new Date());
  await createEventPartitions(pool, [addDays(today, -1), today]);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await server?.destroy();
});

/** Waits until the statistics collector has seen `n` rows written to `table` since its last ANALYZE. */
async function modificationsSeen(table: string, n: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const r = await pool.query<{ m: string }>(`SELECT n_mod_since_analyze::text AS m FROM pg_stat_user_tables WHERE relname = $1`, [table]);
    if (Number(r.rows[0]?.m ?? 0) >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${table}: ${n} modifications not reported within 15 s`);
}

/** The planner's row estimate for a query (its top plan node). */
async function estimate(sql: string, params: unknown[]): Promise<number> {
  const r = await pool.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  return r.rows[0]!['QUERY PLAN'][0]!.Plan['Plan Rows'];
}

describe('analyzeStaleTables', () => {
  it('brings the estimates up to date after a burst of exposures and events, before a refresh plans', async () => {
    const id = await insertExperiment(pool, 'burst');
    await pool.query('ANALYZE');
    expect(await analyzeStaleTables(pool)).toEqual([]);

    const units = 20_000;
    const burst = await pool.connect();
    try {
      await burst.query(
        `INSERT INTO "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", "assignedAt")
         SELECT $1, 'u' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END, 0.5, 0, 1, (now() AT TIME ZONE 'UTC') - interval '1 hour'
         FROM generate_series(1, $2) g`,
        [id, units],
      );
      await burst.query(
        `INSERT INTO "Event" ("eventId", "unitId", name, value, "timestamp")
         SELECT 'e' || g, 'u' || g, 'buy', 1, (now() AT TIME ZONE 'UTC') - interval '30 minutes' FROM generate_series(1, $1) g`,
        [units],
      );
      // Counters reach pg_stat_user_tables when a session reports them: ask for it now.
      await burst.query('SELECT pg_stat_force_next_flush()');
    } finally {
      burst.release();
    }
    await modificationsSeen('Assignment', units);
    const exposuresSql = `SELECT * FROM "Assignment" WHERE "experimentId" = $1`;
    // The stale picture the planner had: the experiment all but empty.
    expect(await estimate(exposuresSql, [id])).toBeLessThan(100);

    const r = await refreshUnitAggregates(pool, id, { names: ['buy'], lookbackSeconds: 3600, windowSeconds: null });
    expect(r.touched).toBe(units);
    const exposures = await estimate(exposuresSql, [id]);
    expect(exposures).toBeGreaterThan(units / 2);
    expect(exposures).toBeLessThan(units * 2);
    // The refresh's own inserts are the next burst: the next refresh analyzes them first.
    await modificationsSeen('UnitEventAggregate', units);
    const aggregatesSql = `SELECT * FROM "UnitEventAggregate" WHERE "experimentId" = $1`;
    expect(await estimate(aggregatesSql, [id])).toBeLessThan(100);
    await refreshUnitAggregates(pool, id, { names: ['buy'], lookbackSeconds: 3600, windowSeconds: null });
    expect(await estimate(aggregatesSql, [id])).toBeGreaterThan(units / 2);
    expect(await analyzeStaleTables(pool)).toEqual([]);
  });
});

/**
 * Planner statistics of the tables a cycle joins, brought up to date before it plans.
 *
 * Autovacuum's ANALYZE trails a burst of writes by a minute or more (its nap time, then its turn).
 * A new experiment's first cycles, or a launch that exposes 100k units at once, meet statistics
 * from before the burst: the planner believes the experiment has a row or two and loops where it
 * should hash, turning a one-second refresh into minutes (bench:cycle measured 81 s and 176 s).
 * The queries also pin the plans they can (see unit-aggregates.ts and queryEveryUnit), but the
 * choice of index inside a probe still rests on the statistics.
 *
 * This runs the check autovacuum would, with its default thresholds (50 rows + 10 % of the table
 * modified since the last ANALYZE), and analyzes the stale tables now. SKIP_LOCKED: a table
 * another session is analyzing is left to it rather than waited for.
 */
import type { Pool } from 'pg';

/** Tables (besides the partitions of "Event") whose estimates the cycle's joins depend on. */
const TABLES = ['Assignment', 'UnitEventAggregate'];

/** Analyzes the cycle's tables that changed past autovacuum's threshold; returns their names. */
export async function analyzeStaleTables(pool: Pool): Promise<string[]> {
  const stale = await pool.query<{ name: string }>(
    `SELECT format('%I', c.relname) AS name
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE (c.relname = ANY($1::text[]) OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = '"Event"'::regclass))
       AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
     ORDER BY 1`,
    [TABLES],
  );
  const names = stale.rows.map((r) => r.name);
  if (names.length) await pool.query(`ANALYZE (SKIP_LOCKED) ${names.join(', ')}`);
  return names;
}

/**
 * Per-unit event counts and value sums for one experiment (UnitEventAggregate), maintained
 * incrementally so a cycle reads only what arrived since the last one, not the event history.
 *
 * The watermark is a transaction id. Every Event and Assignment row records the id of the
 * transaction that wrote it (`txid`, xid8 as bigint). `hi = pg_snapshot_xmin(pg_current_snapshot())`
 * is the oldest transaction still running, so every row with txid < hi is final: committed (and
 * visible) or rolled back. A refresh from `lo` to `hi` adds each (exposure, event) pair whose later
 * row has txid in [lo, hi): new events against exposures written before `hi`, plus new exposures
 * against events written before `lo` (an event may arrive before its unit's exposure). Each pair
 * is counted exactly once, whatever order rows arrive or commit in. A transaction left open holds
 * `hi` back (the aggregates lag, they are never wrong).
 *
 * A pair counts when the event's name is tracked, it is unscoped or scoped to this experiment, and
 * its timestamp lies within the attribution window of the unit's first exposure. The aggregates
 * are rebuilt from scratch when the tracked names or the window change.
 */
import type { Pool } from 'pg';
import { inTransaction } from './pg.js';
import { at } from '../domain/at.js';
import { aggregationSpec } from '../domain/experiment/aggregation-spec.js';
import { cellDesignOf } from './aggregates.js';
import type { LoadedExperiment } from './experiment-repo.js';
import { eventCountsFor } from './ingest.js';
import { analyzeStaleTables } from './planner-statistics.js';
import { updateReportRollup, type ReportRollupSpec } from './report-rollup.js';

export interface AggregateSpec {
  names: string[];
  lookbackSeconds: number;
  windowSeconds: number | null;
  /** Keep the report's rollup (infra/report-rollup.ts) in step; without it the rollup is dropped. */
  report?: ReportRollupSpec;
}

/** What an experiment aggregates, with its report rollup: what every refresh of it passes. */
export function experimentAggregateSpec(exp: LoadedExperiment): AggregateSpec {
  const { config } = exp.def;
  return {
    ...aggregationSpec(config),
    report: { metrics: config.metrics.map((m) => ({ key: m.key, event: m.event, type: m.type })), design: cellDesignOf(exp) },
  };
}

export interface RefreshResult {
  /** Rows with txid below this are aggregated; read assignments with the same bound. */
  hi: string;
  /** Aggregate rows inserted or updated by this refresh. */
  touched: number;
  rebuilt: boolean;
  /** skipIfBusy and another refresh held the experiment: nothing was done (`hi` is not meaningful). */
  busy?: boolean;
}

/**
 * Brings the experiment's aggregates up to date. It first waits (up to `maxWaitMs`) for the
 * transactions already running when it was called to finish, so that everything committed before
 * the call is counted; a transaction that stays open longer is counted by a later refresh.
 */
export async function refreshUnitAggregates(pool: Pool, experimentId: string, spec: AggregateSpec, opts: { maxWaitMs?: number; skipIfBusy?: boolean } = {}): Promise<RefreshResult> {
  const names = [...new Set(spec.names)].sort();
  await waitForEarlierTransactions(pool, opts.maxWaitMs ?? 5000);
  await analyzeStaleTables(pool);
  return inTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO "AggregateWatermark" ("experimentId", txid, names, "lookbackSeconds", "windowSeconds", "updatedAt")
       VALUES ($1, 0, $2, $3, $4, now() AT TIME ZONE 'UTC') ON CONFLICT DO NOTHING`,
      [experimentId, names, spec.lookbackSeconds, spec.windowSeconds],
    );
    // The row lock serialises refreshes of one experiment; the second sees the first's watermark.
    // A reader that only wants current-enough data (skipIfBusy) does not queue behind a refresh.
    const locked = (await client.query<{ txid: string; names: string[]; lookback: number; window: number | null }>(
      `SELECT txid::text, names, "lookbackSeconds" AS lookback, "windowSeconds" AS window FROM "AggregateWatermark" WHERE "experimentId" = $1 FOR UPDATE${opts.skipIfBusy ? ' SKIP LOCKED' : ''}`,
      [experimentId],
    )).rows[0];
    // No row: skipped as locked by another refresh (the upsert above guarantees it exists).
    if (!locked) return { hi: '0', touched: 0, rebuilt: false, busy: true };
    const wm = locked;
    const same = wm.names.join('\u0000') === names.join('\u0000') && wm.lookback === spec.lookbackSeconds && wm.window === spec.windowSeconds;
    let lo = wm.txid;
    if (!same) {
      await client.query(`DELETE FROM "UnitEventAggregate" WHERE "experimentId" = $1`, [experimentId]);
      lo = '0';
    }
    const hi = at((await client.query<{ hi: string }>(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS hi`)).rows, 0, 'snapshot xmin rows').hi;
    const window = `e."timestamp" >= a."assignedAt" - make_interval(secs => $5)
           AND ($6::float8 IS NULL OR e."timestamp" <= a."assignedAt" + make_interval(secs => $6))
           AND ${eventCountsFor('e', '$1::uuid')}`;
    const params = [experimentId, names, lo, hi, spec.lookbackSeconds, spec.windowSeconds];
    // Aggregation wants memory for hashing (not sorts spilled to disk), no JIT for one-off plans.
    await client.query(`SET LOCAL work_mem = '128MB'`);
    await client.query('SET LOCAL jit = off');
    // New events × exposures already final. The planner cannot know how many rows lie past the
    // txid histogram (always "1"), nor, on statistics older than a burst of exposures, how many the
    // experiment has; it can pick either loop order. So the plan is chosen here: hash the
    // experiment's exposures, unless the new events are few (counted, up to a bound), when one
    // index probe per new event is cheaper (a report right after a cycle). The probe is a LATERAL
    // subquery kept apart by OFFSET 0: as a join, on stale statistics, the planner looped over
    // every new event once per exposure (176 s for 10k events × 100k units in bench:cycle).
    // CREATE TABLE AS may run in parallel; INSERT … SELECT may not.
    const fresh = (await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM "Event" WHERE txid >= $1::bigint AND txid < $2::bigint LIMIT ${PROBE_EVENTS + 1}) e`,
      [lo, hi],
    )).rows[0]?.n ?? PROBE_EVENTS + 1;
    const probe = fresh <= PROBE_EVENTS;
    if (!probe) await client.query('SET LOCAL enable_nestloop = off');
    const exposure = probe
      ? `CROSS JOIN LATERAL (SELECT a."assignedAt" FROM "Assignment" a WHERE a."experimentId" = $1 AND a."unitId" = e."unitId" AND a.txid < $4::bigint OFFSET 0) a`
      : `JOIN "Assignment" a ON a."experimentId" = $1 AND a."unitId" = e."unitId" AND a.txid < $4::bigint`;
    await client.query(
      `CREATE TEMP TABLE unit_event_delta ON COMMIT DROP AS
       SELECT e."unitId", e.name, COUNT(*)::float8 AS count, SUM(e.value)::float8 AS sum
       FROM "Event" e ${exposure}
       WHERE e.txid >= $3::bigint AND e.txid < $4::bigint AND e.name = ANY($2::text[]) AND ${window}
       GROUP BY e."unitId", e.name`,
      params,
    );
    await client.query('SET LOCAL enable_nestloop = on');
    // New exposures × events written before (their pairs were not counted: no exposure then).
    // Few new units each cycle: one index probe per unit is right here.
    await client.query(
      `INSERT INTO unit_event_delta
       SELECT e."unitId", e.name, COUNT(*)::float8, SUM(e.value)::float8
       FROM "Assignment" a JOIN "Event" e ON e."unitId" = a."unitId" AND e.name = ANY($2::text[]) AND e.txid < $3::bigint
       WHERE a."experimentId" = $1 AND a.txid >= $3::bigint AND a.txid < $4::bigint AND ${window}
       GROUP BY e."unitId", e.name`,
      params,
    );
    // Merge: an UPDATE joined in one hash join, then the new keys (no one else writes this
    // experiment's rows: the watermark lock is held). Cheaper than per-row ON CONFLICT handling.
    await client.query(
      `CREATE TEMP TABLE unit_event_merge ON COMMIT DROP AS
       SELECT "unitId", name, SUM(count) AS count, SUM(sum) AS sum FROM unit_event_delta GROUP BY 1, 2`,
    );
    if (spec.report) await client.query('ANALYZE unit_event_merge');
    if (spec.report) await updateReportRollup(client, experimentId, spec.report, { lo, hi, rebuilt: lo === '0' });
    else await client.query(`DELETE FROM "ReportRollup" WHERE "experimentId" = $1`, [experimentId]);
    const updated = await client.query(
      `UPDATE "UnitEventAggregate" g SET count = g.count + d.count, sum = g.sum + d.sum
       FROM unit_event_merge d WHERE g."experimentId" = $1 AND g."unitId" = d."unitId" AND g.name = d.name`,
      [experimentId],
    );
    const inserted = await client.query(
      `INSERT INTO "UnitEventAggregate" ("experimentId", "unitId", name, count, sum)
       SELECT $1, d."unitId", d.name, d.count, d.sum FROM unit_event_merge d
       WHERE NOT EXISTS (SELECT 1 FROM "UnitEventAggregate" g WHERE g."experimentId" = $1 AND g."unitId" = d."unitId" AND g.name = d.name)
       ORDER BY 2, 3`,
      [experimentId],
    );
    await client.query(
      `UPDATE "AggregateWatermark" SET txid = $2::bigint, names = $3, "lookbackSeconds" = $4, "windowSeconds" = $5, "updatedAt" = now() AT TIME ZONE 'UTC'
       WHERE "experimentId" = $1`,
      [experimentId, hi, names, spec.lookbackSeconds, spec.windowSeconds],
    );
    return { hi, touched: (updated.rowCount ?? 0) + (inserted.rowCount ?? 0), rebuilt: !same || lo === '0' };
  });
}

/** Up to this many new events (of any experiment), a refresh probes the exposure index per event. */
const PROBE_EVENTS = 20_000;

/** Waits until every transaction that had started when this was called has finished (or the time is up). */
async function waitForEarlierTransactions(pool: Pool, maxWaitMs: number): Promise<void> {
  const target = at((await pool.query<{ x: string }>(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x`)).rows, 0, 'snapshot xmax rows').x;
  const deadline = Date.now() + maxWaitMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const r = await pool.query<{ done: boolean }>(`SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8 AS done`, [target]);
    if (at(r.rows, 0, 'snapshot rows').done || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

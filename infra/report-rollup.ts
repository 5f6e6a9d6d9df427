/**
 * The report's cells as an incremental rollup (ReportCell): for each factor (day, hour and weekday
 * of exposure, each context attribute) and value, the moments (n, sum, sum of squares) of the
 * per-unit metric values by analysis cell. It is updated inside refreshUnitAggregates' transaction,
 * from the same delta and under the same watermark, so it always equals what the full aggregate
 * over every unit (infra/report-loader.ts loadReportCells) would give for the units and events
 * below that watermark. A report reads these few thousand rows instead of every unit and event.
 *
 * A refresh changes a unit's value from y0 (its aggregate before) to y1 (after adding this
 * refresh's events): the cells of the unit's factor values gain y1 − y0 and y1² − y0². A unit
 * exposed in this refresh adds n = 1 with y0 = 0. A context attribute seen for the first time is
 * backfilled over the earlier units; one with more than MAX_FACTOR_VALUES values is dropped and not
 * broken down. Different metrics or cell design (the stored spec) rebuild the rollup, as does a
 * rebuild of the aggregates, or its state row being deleted (unit erasure does that).
 */
import type { Pool, PoolClient } from 'pg';
import type { DatedCell } from '../domain/report/estimates.js';
import type { FactorCell } from '../domain/report/breakdown.js';
import type { MetricSpec } from '../domain/types.js';
import { CELL_KEY_COLUMNS, toCellStats, type CellDesign, type CellRow } from './aggregates.js';

export interface ReportRollupSpec {
  metrics: Array<Pick<MetricSpec, 'key' | 'event' | 'type'>>;
  design: CellDesign;
}

export interface ReportCells {
  dailyCells: DatedCell[];
  factorCells: FactorCell[];
  /** Context attributes not broken down (too many values), as `context.<key>`. */
  skippedFactors: string[];
}

/** A context attribute with more distinct values than this is not broken down. */
const MAX_FACTOR_VALUES = 50;
/** New units sampled to discover context attributes (and reject obviously high-cardinality ones). */
const KEY_SAMPLE = 20_000;

const TIME_FACTORS = [
  { name: 'day', expr: `to_char(a."assignedAt", 'YYYY-MM-DD')` },
  { name: 'hour', expr: `extract(hour FROM a."assignedAt")::int::text` },
  { name: 'weekday', expr: `extract(isodow FROM a."assignedAt")::int::text` },
];

interface UnitPart {
  /** Condition on Assignment a (besides the experiment). */
  where: string;
  /** Units counted for the first time: n + 1 and a previous value of 0. */
  fresh: boolean;
}

interface RefreshBounds {
  lo: string;
  hi: string;
  /** The aggregates were rebuilt from nothing in this refresh. */
  rebuilt: boolean;
}

/**
 * Applies one aggregate refresh to the rollup. Runs in refreshUnitAggregates' transaction, after
 * its delta table `unit_event_merge` ("unitId", name, count, sum) is built and before it is merged
 * into UnitEventAggregate (so the aggregate rows still hold each unit's previous value).
 */
export async function updateReportRollup(client: PoolClient, experimentId: string, spec: ReportRollupSpec, b: RefreshBounds): Promise<void> {
  const specJson = JSON.stringify(spec);
  const state = (await client.query<{ same: boolean; factors: string[] | null; skipped: string[] | null }>(
    `SELECT spec = $2::jsonb AS same, factors, skipped FROM "ReportRollup" WHERE "experimentId" = $1 FOR UPDATE`,
    [experimentId, specJson],
  )).rows[0];
  const full = b.rebuilt || !state || !state.same;
  let factors = full ? [] : (state.factors ?? []);
  let skipped = full ? [] : (state.skipped ?? []);
  if (full) {
    await client.query(`DELETE FROM "ReportRollup" WHERE "experimentId" = $1`, [experimentId]);
    await client.query(`INSERT INTO "ReportRollup" ("experimentId", spec, factors, skipped) VALUES ($1, $2::jsonb, '{}', '{}')`, [experimentId, specJson]);
  }
  const lo = full ? '0' : b.lo;
  if (!full) {
    // Nothing new (a second refresh in the same cycle, a report right after one): nothing to add.
    const any = await client.query<{ yes: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM unit_event_merge) OR EXISTS (SELECT 1 FROM "Assignment" WHERE "experimentId" = $1 AND txid >= $2::bigint AND txid < $3::bigint) AS yes`,
      [experimentId, lo, b.hi],
    );
    if (!any.rows[0]?.yes) return;
  }

  // Context attributes of the units new to the rollup that it does not know yet.
  const seen = await client.query<{ key: string; values: number }>(
    `SELECT k.key, count(DISTINCT a.context ->> k.key)::int AS values
     FROM (SELECT context FROM "Assignment" WHERE "experimentId" = $1 AND txid >= $2::bigint AND txid < $3::bigint LIMIT ${KEY_SAMPLE}) a,
          jsonb_object_keys(a.context) AS k(key)
     GROUP BY k.key ORDER BY k.key`,
    [experimentId, lo, b.hi],
  );
  const unknown = seen.rows.filter((r) => !factors.includes(r.key) && !skipped.includes(r.key));
  skipped = [...skipped, ...unknown.filter((r) => r.values > MAX_FACTOR_VALUES).map((r) => r.key)];
  const added = unknown.filter((r) => r.values <= MAX_FACTOR_VALUES).map((r) => r.key);

  await client.query(`SET LOCAL work_mem = '128MB'`);
  if (full) {
    // Every unit: hash joins, whatever the statistics say (see queryEveryUnit in aggregates.ts).
    await client.query('SET LOCAL enable_nestloop = off');
    await addCells(client, experimentId, spec, [{ where: `a.txid < $9::bigint`, fresh: true }], { keys: added, time: true, withDelta: true, probe: false, lo, hi: b.hi });
  } else {
    // An increment touches few units: probe the unit and aggregate indexes per unit rather than
    // hash the experiment's every exposure and aggregate (the planner cannot tell: see the txid note
    // in unit-aggregates.ts).
    await client.query(`CREATE INDEX ON unit_event_merge ("unitId", name)`);
    await client.query('SET LOCAL enable_hashjoin = off');
    await client.query('SET LOCAL enable_mergejoin = off');
    // Attributes new to the rollup: the earlier units at their values before this refresh...
    if (added.length) await addCells(client, experimentId, spec, [{ where: `a.txid < $8::bigint`, fresh: true }], { keys: added, time: false, withDelta: false, probe: true, lo, hi: b.hi });
    // ...then this refresh: new units, and earlier units whose events changed.
    await addCells(
      client,
      experimentId,
      spec,
      [
        { where: `a.txid >= $8::bigint AND a.txid < $9::bigint`, fresh: true },
        { where: `a.txid < $8::bigint AND a."unitId" IN (SELECT "unitId" FROM unit_event_merge)`, fresh: false },
      ],
      { keys: [...factors, ...added], time: true, withDelta: true, probe: true, lo, hi: b.hi },
    );
  }
  await client.query('SET LOCAL enable_hashjoin = on; SET LOCAL enable_mergejoin = on; SET LOCAL enable_nestloop = on');
  factors = [...factors, ...added];
  const tooMany = (await client.query<{ factor: string }>(
    `SELECT factor FROM "ReportCell" WHERE "experimentId" = $1 AND factor LIKE 'context.%' GROUP BY factor HAVING count(DISTINCT value) > ${MAX_FACTOR_VALUES}`,
    [experimentId],
  )).rows.map((r) => r.factor.slice('context.'.length));
  if (tooMany.length) {
    await client.query(`DELETE FROM "ReportCell" WHERE "experimentId" = $1 AND factor = ANY($2::text[])`, [experimentId, tooMany.map((k) => `context.${k}`)]);
    factors = factors.filter((k) => !tooMany.includes(k));
    skipped = [...skipped, ...tooMany];
  }
  await client.query(`UPDATE "ReportRollup" SET factors = $2, skipped = $3 WHERE "experimentId" = $1`, [experimentId, factors, [...new Set(skipped)].sort()]);
}

/** Adds the change in each unit's metric values to the cells of its factor values. */
async function addCells(
  client: PoolClient,
  experimentId: string,
  spec: ReportRollupSpec,
  parts: UnitPart[],
  o: { keys: string[]; time: boolean; withDelta: boolean; probe: boolean; lo: string; hi: string },
): Promise<void> {
  const factors = [
    ...(o.time ? TIME_FACTORS : []),
    ...o.keys.map((k, i) => ({ name: `context.${k}`, expr: `a.context ->> ($10::text[])[${i + 1}]` })),
  ];
  if (!factors.length) return;
  const cols = factors.map((f, i) => `${f.expr} AS f${i}`).join(', ');
  const units = parts
    .map(
      (p) => `SELECT a."unitId", a.variant, a.segment AS seg, a."snapshotVersion" AS period, ${p.fresh} AS fresh, ${cols},
              ${CELL_KEY_COLUMNS}
       FROM "Assignment" a WHERE a."experimentId" = $1 AND ${p.where}`,
    )
    .join('\n       UNION ALL\n       ');
  const fs = factors.map((_, i) => `f${i}`);
  const valueOf = (c: string, s: string) =>
    `CASE WHEN mt.type = 'binary' THEN (CASE WHEN ${c} > 0 THEN 1.0 ELSE 0.0 END) WHEN mt.type = 'count' THEN ${c} ELSE ${s} END`;
  // An increment probes each unit's aggregate row by its whole key. As a plain join the planner,
  // on statistics taken before this experiment's aggregates existed, rescanned every aggregate row
  // of the experiment once per unit (81 s for 10k units). OFFSET 0 keeps the subquery from being
  // flattened into a join, so it runs once per row with the full index condition.
  const aggregateJoin = o.probe
    ? `LEFT JOIN LATERAL (SELECT g.count, g.sum FROM "UnitEventAggregate" g
                  WHERE g."experimentId" = $1 AND g."unitId" = a."unitId" AND g.name = mt.event OFFSET 0) g ON true`
    : `LEFT JOIN "UnitEventAggregate" g ON g."experimentId" = $1 AND g."unitId" = a."unitId" AND g.name = mt.event`;
  const c0 = `COALESCE(g.count, 0)`;
  const s0 = `COALESCE(g.sum, 0)`;
  const c1 = o.withDelta ? `${c0} + COALESCE(d.count, 0)` : c0;
  const s1 = o.withDelta ? `${s0} + COALESCE(d.sum, 0)` : s0;
  await client.query(
    `WITH a AS (
       ${units}
     ),
     mt AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS mt(key, event, type)),
     -- Not read: types every parameter, some of which a given statement does not use.
     p AS (SELECT $8::bigint AS lo, $9::bigint AS hi, $10::text[] AS keys, $11::text[] AS names),
     y AS (
       SELECT a.*, mt.key,
              CASE WHEN a.fresh THEN 0.0 ELSE ${valueOf(c0, s0)} END::float8 AS y0,
              (${valueOf(c1, s1)})::float8 AS y1
       FROM a CROSS JOIN mt
       ${aggregateJoin}
       LEFT JOIN unit_event_merge d ON d."unitId" = a."unitId" AND d.name = mt.event
     )
     INSERT INTO "ReportCell" ("experimentId", factor, value, metric, variant, segment, period, share, stratum, n, sum, ss)
     SELECT $1, ($11::text[])[CASE ${fs.map((f, i) => `WHEN GROUPING(${f}) = 0 THEN ${i + 1}`).join(' ')} END],
            COALESCE(${fs.join(', ')}), key, variant, seg, period, COALESCE(share, -1), COALESCE(stratum, ''),
            SUM(fresh::int), SUM(y1 - y0), SUM(y1 * y1 - y0 * y0)
     FROM y
     GROUP BY key, variant, seg, period, share, stratum, GROUPING SETS (${fs.map((f) => `(${f})`).join(', ')})
     HAVING COALESCE(${fs.join(', ')}) IS NOT NULL
     ON CONFLICT ("experimentId", factor, value, metric, variant, segment, period, share, stratum)
     DO UPDATE SET n = "ReportCell".n + EXCLUDED.n, sum = "ReportCell".sum + EXCLUDED.sum, ss = "ReportCell".ss + EXCLUDED.ss`,
    [
      experimentId,
      spec.metrics.map((m) => m.key),
      spec.metrics.map((m) => m.event),
      spec.metrics.map((m) => m.type),
      spec.design.contextual,
      spec.design.control,
      spec.design.postStratify ?? [],
      o.lo,
      o.hi,
      o.keys,
      factors.map((f) => f.name),
    ],
  );
}

/** The rolled-up cells of an experiment (null when it has no rollup yet). */
export async function readReportCells(pool: Pool, experimentId: string): Promise<ReportCells | null> {
  const state = (await pool.query<{ spec: ReportRollupSpec; skipped: string[] | null }>(`SELECT spec, skipped FROM "ReportRollup" WHERE "experimentId" = $1`, [experimentId])).rows[0];
  if (!state) return null;
  const rows = await pool.query<CellRow & { factor: string; value: string }>(
    `SELECT factor, value, metric, variant, segment, period, share, stratum, n, sum, ss FROM "ReportCell" WHERE "experimentId" = $1 AND n > 0`,
    [experimentId],
  );
  const contextual = state.spec.design.contextual;
  const stratified = (state.spec.design.postStratify ?? []).length > 0;
  const dailyCells: DatedCell[] = [];
  const factorCells: FactorCell[] = [];
  for (const r of rows.rows) {
    const cell = toCellStats({ ...r, share: contextual ? r.share : null, stratum: stratified ? r.stratum : null });
    if (r.factor === 'day') dailyCells.push({ ...cell, day: r.value });
    else factorCells.push({ ...cell, factor: r.factor, value: r.value });
  }
  return { dailyCells, factorCells, skippedFactors: (state.skipped ?? []).map((k) => `context.${k}`) };
}

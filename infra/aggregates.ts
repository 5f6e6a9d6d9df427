/**
 * Aggregation in SQL, where the data lives: event rows never leave Postgres, only sufficient
 * statistics (n, sum, sum of squares per metric × variant × segment × allocation period) and bounded
 * per-unit feature samples.
 */
import type { Pool } from 'pg';
import type { CellStats, MetricSpec } from '../domain/types.js';
import { controlVariant, type ExperimentDefinition } from '../domain/experiment/snapshot.js';
import type { UnitAggregateRow } from '../domain/segmentation/features.js';

/** Events may precede the exposure they belong to by this much: app and API clocks differ. */
export const ATTRIBUTION_LOOKBACK_SECONDS = 600;

/** How units were randomised, which decides the analysis cells beyond (segment, period). */
export interface CellDesign {
  /** The control variant's key. */
  control: string;
  /**
   * Two-arm contextual policy: units of one (segment, period) were served their context leaf's
   * weights, so each cell is further split by the unit's treatment share (`propensityStratum`).
   * Never set for multi-arm designs: there a single propensity does not identify the weights.
   */
  contextual: boolean;
  /**
   * Context attributes to post-stratify on (the randomisation strata of a stratified design, or
   * any pre-treatment attributes): cells are further keyed by their values (`stratum`).
   */
  postStratify?: string[];
  /**
   * Which events count for a unit, relative to its first exposure: from `lookbackSeconds` before it
   * (tolerance for clock skew between apps and the API) to `windowSeconds` after it (null: no end).
   */
  attribution?: { lookbackSeconds: number; windowSeconds: number | null };
  /**
   * Offline replay of a past cycle: only the rows that cycle could see. Id watermarks (the largest
   * Assignment and Event ids when it collected) are exact up to out-of-order commits; without them,
   * exposures assigned after `time` are left out (rows still in flight then are not).
   */
  asOf?: { time: Date; assignmentId?: string; eventId?: string };
}

/**
 * The analysis cells an experiment's design calls for. Two-arm contextual experiments randomise each
 * unit with its context leaf's weights, so their cells are split by that treatment share.
 */
export function cellDesignFor(def: ExperimentDefinition, asOf?: CellDesign['asOf']): CellDesign {
  const { config } = def;
  return {
    control: controlVariant(def),
    contextual: config.policy.kind === 'contextual' && def.variants.length === 2,
    postStratify: config.postStratify ?? (config.randomization.type === 'stratified' ? config.randomization.strata : []),
    attribution: {
      lookbackSeconds: config.attribution.lookbackSeconds,
      windowSeconds: config.attribution.windowHours === undefined ? null : config.attribution.windowHours * 3600,
    },
    ...(asOf ? { asOf } : {}),
  };
}

/**
 * Per-unit metric values: binary = any event, count = number of events, continuous = sum of values.
 * A unit's cell is the segment it was placed in at assignment and the snapshot version it was
 * randomised under: within that cell every unit had the same propensities, which is what makes the
 * stratified estimates unbiased under adaptive allocation. (Later behavioural re-segmentation is
 * kept in SegmentMembership; analysing by it would mix units served different weights.)
 * Under the contextual policy the units of one (segment, period) had their context leaf's weights,
 * so the cell is also keyed by the treatment share the unit was randomised with: its logged
 * propensity for treatment units, 1 − propensity for control units, rounded to 1e-6.
 */
export async function collectCellStats(pool: Pool, experimentId: string, metrics: MetricSpec[], design?: CellDesign): Promise<CellStats[]> {
  const contextual = design?.contextual === true;
  const postStratify = design?.postStratify ?? [];
  const attribution = design?.attribution ?? { lookbackSeconds: ATTRIBUTION_LOOKBACK_SECONDS, windowSeconds: null };
  const res = await pool.query<{ metric: string; variant: string; segment: number; period: number; share: number | null; stratum: string | null; n: number; sum: number; ss: number }>(
    `WITH a AS (
       SELECT a."unitId", a.variant, a.segment AS seg, a."snapshotVersion" AS period, a."assignedAt",
              CASE WHEN $5::boolean
                   THEN round((CASE WHEN a.variant = $6 THEN 1 - a.propensity ELSE a.propensity END)::numeric, 6)::float8
              END AS share,
              CASE WHEN cardinality($7::text[]) > 0
                   THEN (SELECT string_agg(COALESCE(a.context ->> f, ''), '|' ORDER BY i) FROM unnest($7::text[]) WITH ORDINALITY AS t(f, i))
              END AS stratum
       FROM "Assignment" a
       WHERE a."experimentId" = $1 AND ($10::timestamptz IS NULL OR a."assignedAt" <= $10::timestamptz)
         AND ($11::bigint IS NULL OR a.id <= $11::bigint)
     ),
     ev AS (
       SELECT e."unitId", e.name, COUNT(*)::float8 AS c, SUM(e.value)::float8 AS s
       FROM "Event" e JOIN a ON a."unitId" = e."unitId"
       WHERE e."experimentId" = $1 AND e.name = ANY($3::text[])
         AND e."timestamp" >= a."assignedAt" - make_interval(secs => $8)
         AND ($9::float8 IS NULL OR e."timestamp" <= a."assignedAt" + make_interval(secs => $9))
         AND ($12::bigint IS NULL OR e.id <= $12::bigint)
       GROUP BY e."unitId", e.name
     ),
     mt AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS mt(key, event, type)),
     y AS (
       SELECT mt.key, a.variant, a.seg, a.period, a.share, a.stratum,
              CASE WHEN mt.type = 'binary' THEN (CASE WHEN ev.c > 0 THEN 1.0 ELSE 0.0 END)
                   WHEN mt.type = 'count' THEN COALESCE(ev.c, 0)
                   ELSE COALESCE(ev.s, 0) END AS y
       FROM a CROSS JOIN mt
       LEFT JOIN ev ON ev."unitId" = a."unitId" AND ev.name = mt.event
     )
     SELECT key AS metric, variant, seg AS segment, period, share, stratum, COUNT(*)::int AS n, SUM(y)::float8 AS sum, SUM(y * y)::float8 AS ss
     FROM y GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
    [
      experimentId,
      metrics.map((m) => m.key),
      metrics.map((m) => m.event),
      metrics.map((m) => m.type),
      contextual,
      design?.control ?? '',
      postStratify,
      attribution.lookbackSeconds,
      attribution.windowSeconds,
      design?.asOf && design.asOf.assignmentId === undefined ? design.asOf.time : null,
      design?.asOf?.assignmentId ?? null,
      design?.asOf?.eventId ?? null,
    ],
  );
  return res.rows.map((r) => ({
    metric: r.metric,
    variant: r.variant,
    segment: r.segment,
    period: r.period,
    ...(r.share === null ? {} : { propensityStratum: r.share }),
    ...(r.stratum === null ? {} : { stratum: r.stratum }),
    moments: { n: r.n, sum: r.sum, sumSquares: r.ss },
  }));
}

/**
 * Per-unit aggregates for segmentation: event counts and value sums for the configured events plus
 * numeric context attributes, for a deterministic pseudo-random sample of at most `limit` units.
 */
export async function sampleUnitAggregates(
  pool: Pool,
  experimentId: string,
  opts: { events: string[]; contextFeatures: string[]; limit: number; seed: string },
): Promise<UnitAggregateRow[]> {
  const res = await pool.query<{ unitId: string; context: Record<string, unknown>; names: string[] | null; counts: number[] | null; sums: number[] | null }>(
    `WITH u AS (
       SELECT "unitId", context FROM "Assignment" WHERE "experimentId" = $1
       ORDER BY md5("unitId" || $4) LIMIT $3
     ),
     ev AS (
       SELECT e."unitId", e.name, COUNT(*)::float8 AS c, SUM(e.value)::float8 AS s
       FROM "Event" e JOIN u ON u."unitId" = e."unitId"
       WHERE e."experimentId" = $1 AND e.name = ANY($2::text[])
       GROUP BY e."unitId", e.name
     )
     SELECT u."unitId", u.context, array_agg(ev.name) AS names, array_agg(ev.c) AS counts, array_agg(ev.s) AS sums
     FROM u LEFT JOIN ev ON ev."unitId" = u."unitId"
     GROUP BY u."unitId", u.context
     ORDER BY u."unitId"`,
    [experimentId, opts.events, opts.limit, opts.seed],
  );
  return res.rows.map((r) => {
    const counts: Record<string, number> = {};
    const sums: Record<string, number> = {};
    (r.names ?? []).forEach((n, i) => {
      if (n === null) return;
      counts[n] = r.counts![i]!;
      sums[n] = r.sums![i]!;
    });
    const context: Record<string, number> = {};
    for (const f of opts.contextFeatures) {
      const v = Number((r.context ?? {})[f]);
      context[f] = Number.isFinite(v) ? v : 0;
    }
    return { unitId: r.unitId, counts, sums, context };
  });
}

/** Writes segment memberships in one statement; later cycles overwrite earlier ones. */
export async function upsertMemberships(pool: Pool, experimentId: string, cycle: number, unitIds: string[], segments: number[]): Promise<void> {
  if (!unitIds.length) return;
  await pool.query(
    `INSERT INTO "SegmentMembership" ("experimentId", "unitId", "segmentId", cycle)
     SELECT $1::uuid, u, s, $2 FROM unnest($3::text[], $4::int[]) AS t(u, s)
     ON CONFLICT ("experimentId", "unitId") DO UPDATE SET "segmentId" = EXCLUDED."segmentId", cycle = EXCLUDED.cycle
     WHERE "SegmentMembership".cycle <= EXCLUDED.cycle`,
    [experimentId, cycle, unitIds, segments],
  );
}

/**
 * The most recent `limit` enrolled units with their numeric context features, variant, logged
 * propensity and primary-metric value: the training rows of the contextual risk model.
 */
export async function recentContextRows(
  pool: Pool,
  experimentId: string,
  opts: { features: string[]; metric: MetricSpec; limit: number },
): Promise<Array<{ features: number[]; variant: string; y: number; propensity: number }>> {
  const res = await pool.query<{ context: Record<string, unknown>; variant: string; propensity: number; c: number | null; s: number | null }>(
    `WITH a AS (
       SELECT "unitId", variant, propensity, context FROM "Assignment"
       WHERE "experimentId" = $1 ORDER BY "assignedAt" DESC, id DESC LIMIT $3
     )
     SELECT a.context, a.variant, a.propensity, ev.c, ev.s
     FROM a LEFT JOIN LATERAL (
       SELECT COUNT(*)::float8 AS c, SUM(value)::float8 AS s FROM "Event" e
       WHERE e."experimentId" = $1 AND e."unitId" = a."unitId" AND e.name = $2
     ) ev ON true`,
    [experimentId, opts.metric.event, opts.limit],
  );
  const numeric = (v: unknown) => (typeof v === 'boolean' ? Number(v) : typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
  return res.rows.reverse().map((r) => ({
    features: opts.features.map((f) => numeric((r.context ?? {})[f])),
    variant: r.variant,
    propensity: r.propensity,
    y: opts.metric.type === 'binary' ? ((r.c ?? 0) > 0 ? 1 : 0) : opts.metric.type === 'count' ? (r.c ?? 0) : (r.s ?? 0),
  }));
}

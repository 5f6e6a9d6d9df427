/**
 * Loads everything an experiment report needs, aggregated in SQL: per-unit metric values (the same
 * CTEs as the decision's cells, infra/aggregates.ts) grouped by day, hour and weekday of exposure
 * and by each low-cardinality context attribute, in one statement; plus the stored snapshots,
 * decisions, predictions, audit entries and alerts. domain/report builds the report from these.
 */
import type { Pool } from 'pg';
import type { ExperimentReportInput } from '../domain/report/experiment-report.js';
import type { DatedCell } from '../domain/report/estimates.js';
import type { FactorCell } from '../domain/report/breakdown.js';
import type { EntityReportInput } from '../domain/report/entity-report.js';
import type { AllocationSnapshot, ExperimentPhase } from '../domain/types.js';
import { cellDesignOf, queryEveryUnit, toCellStats, unitValueCtes, unitValueParams, type CellDesign, type CellRow } from './aggregates.js';
import type { ReportCells } from './report-rollup.js';
import { loadExperiment, type LoadedExperiment } from './experiment-repo.js';
import type { PrismaClient } from './prisma.js';

/** Context attributes with more distinct values than this (in a sample) are not broken down. */
const MAX_FACTOR_VALUES = 50;
const FACTOR_SAMPLE = 20_000;

type FactorRow = CellRow & { factor: number; value: string | null };

/**
 * Cells by day of exposure and by factor value, for one experiment, computed from every unit and
 * its aggregates (below `asOf.hi` when given). Reports read the same cells from the incremental
 * rollup (infra/report-rollup.ts); this full computation is the reference it is tested and
 * benchmarked against.
 */
export async function loadReportCells(
  pool: Pool,
  experimentId: string,
  metrics: ExperimentReportInput['experiment']['metrics'],
  design: CellDesign,
  asOf?: { hi: string },
): Promise<ReportCells> {
  const keys = await pool.query<{ key: string; values: number }>(
    `SELECT kv.key, count(DISTINCT kv.value)::int AS values
     FROM (SELECT context FROM "Assignment" WHERE "experimentId" = $1 AND ($2::bigint IS NULL OR txid < $2::bigint) LIMIT ${FACTOR_SAMPLE}) a, jsonb_each_text(a.context) kv
     GROUP BY kv.key ORDER BY kv.key`,
    [experimentId, asOf?.hi ?? null],
  );
  const factorKeys = keys.rows.filter((r) => r.values <= MAX_FACTOR_VALUES).map((r) => r.key);
  const skippedFactors = keys.rows.filter((r) => r.values > MAX_FACTOR_VALUES).map((r) => `context.${r.key}`);
  // One pass: each unit carries its factor values as columns and GROUPING SETS aggregates them
  // all at once (a lateral unnest of the context would multiply the rows by its attributes).
  // $8 holds the factor keys when there are any; the watermark comes after.
  const hiParam = asOf ? `$${factorKeys.length ? 9 : 8}` : undefined;
  const factors = [
    { name: 'day', expr: `to_char(a."assignedAt", 'YYYY-MM-DD')` },
    { name: 'hour', expr: `extract(hour FROM a."assignedAt")::int::text` },
    { name: 'weekday', expr: `extract(isodow FROM a."assignedAt")::int::text` },
    ...factorKeys.map((k, i) => ({ name: `context.${k}`, expr: `a.context ->> ($8::text[])[${i + 1}]` })),
  ];
  const cols = factors.map((f, i) => ({ expr: f.expr, as: `f${i}` }));
  const res = await queryEveryUnit<FactorRow>(
    pool,
    `WITH ${unitValueCtes(cols, hiParam ? { txidParam: hiParam } : {})}
     SELECT CASE ${cols.map((c, i) => `WHEN GROUPING(${c.as}) = 0 THEN ${i}`).join(' ')} END AS factor,
            COALESCE(${cols.map((c) => c.as).join(', ')}) AS value,
            key AS metric, variant, seg AS segment, period, share, stratum,
            COUNT(*)::int AS n, SUM(y)::float8 AS sum, SUM(y * y)::float8 AS ss
     FROM y GROUP BY key, variant, seg, period, share, stratum, GROUPING SETS (${cols.map((c) => `(${c.as})`).join(', ')})`,
    [...unitValueParams(experimentId, metrics, design), ...(factorKeys.length ? [factorKeys] : []), ...(asOf ? [asOf.hi] : [])],
  );
  const dailyCells: DatedCell[] = [];
  const factorCells: FactorCell[] = [];
  for (const r of res.rows) {
    const cell = toCellStats(r);
    const factor = factors[r.factor]?.name ?? 'unknown';
    // A unit without the attribute has no value for it: it is not part of that breakdown.
    if (r.value === null) continue;
    if (factor === 'day') dailyCells.push({ ...cell, day: r.value });
    else factorCells.push({ ...cell, factor, value: r.value });
  }
  return { dailyCells, factorCells, skippedFactors };
}

/** Everything buildExperimentReport needs for experiment `key`. */
export async function loadExperimentReportInput(
  prisma: PrismaClient,
  pool: Pool,
  key: string,
  opts: { now: Date; workflowUrl: string | null; cells?: (exp: LoadedExperiment) => Promise<ReportCells> },
): Promise<ExperimentReportInput> {
  const exp = await loadExperiment(prisma, key);
  const row = await prisma.experiment.findUniqueOrThrow({ where: { id: exp.id }, select: { name: true, owner: true, hypothesis: true, createdAt: true, status: true } });
  const { config } = exp.def;
  const design = cellDesignOf(exp);
  const [cells, snapshots, audit, decisions, predictions, alerts] = await Promise.all([
    opts.cells ? opts.cells(exp) : loadReportCells(pool, exp.id, config.metrics, design),
    prisma.allocationSnapshot.findMany({ where: { experimentId: exp.id }, orderBy: { version: 'asc' }, select: { version: true, cycle: true, step: true, reason: true, createdAt: true, snapshot: true } }),
    prisma.auditLog.findMany({ where: { OR: [{ target: key }, { target: { startsWith: `${key}/` } }] }, orderBy: { at: 'asc' }, take: 5000 }),
    prisma.decision.findMany({ where: { experimentId: exp.id }, orderBy: { cycle: 'asc' } }),
    pool.query<{ cycle: number; segments: unknown }>(`SELECT cycle, payload -> 'segments' AS segments FROM "CycleStats" WHERE "experimentId" = $1 AND step = 'predict' ORDER BY cycle`, [exp.id]),
    prisma.alert.findMany({ where: { experimentKey: key }, orderBy: { firedAt: 'desc' }, take: 200 }),
  ]);
  return {
    experiment: {
      key,
      name: row.name,
      kind: exp.kind,
      status: row.status as ExperimentPhase,
      owner: row.owner,
      hypothesis: row.hypothesis,
      createdAt: row.createdAt.toISOString(),
      metrics: config.metrics,
      alpha: config.alpha,
      tuningN: config.sequentialTuningN,
      variants: exp.def.variants.map((v) => ({ key: v.key, isControl: v.isControl })),
    },
    workflowUrl: opts.workflowUrl,
    ...cells,
    snapshots: snapshots.map((s) => {
      const snap = s.snapshot as unknown as AllocationSnapshot;
      return { version: s.version, cycle: s.cycle, step: s.step, reason: s.reason, createdAt: s.createdAt.toISOString(), snapshot: { phase: snap.phase, segments: snap.segments } };
    }),
    audit: audit.map((a) => ({ at: a.at.toISOString(), actor: a.actor, action: a.action, target: a.target, reason: a.reason, dedupeKey: a.dedupeKey })),
    decisions: decisions.map((d) => ({ cycle: d.cycle, outcome: d.outcome, rationale: d.rationale, createdAt: d.createdAt.toISOString(), statistics: (d.statistics ?? {}) as ExperimentReportInput['decisions'][number]['statistics'] })),
    predictions: predictions.rows.map((p) => ({ cycle: p.cycle, segments: Array.isArray(p.segments) ? (p.segments as ExperimentReportInput['predictions'][number]['segments']) : [] })),
    alerts: alerts.map((a) => ({ kind: a.kind, subject: a.subject, severity: a.severity, message: a.message, firedAt: a.firedAt.toISOString(), resolvedAt: a.resolvedAt?.toISOString() ?? null })),
    now: opts.now.toISOString(),
  };
}

/** Everything buildEntityReport needs: the entity's experiments and model versions as of `at`. */
export async function loadEntityReportInput(prisma: PrismaClient, pool: Pool, entity: string, at: Date): Promise<EntityReportInput> {
  // Timestamps are stored as UTC without a zone: compare with the UTC wall-clock time.
  const asOf = at.toISOString().replace('Z', '');
  const models = await prisma.modelVersion.findMany({ where: { entity }, orderBy: { createdAt: 'asc' } });
  const rows = await prisma.experiment.findMany({
    where: { OR: [{ config: { path: ['entity'], equals: entity } }, { key: { in: models.flatMap((m) => (m.experimentKey ? [m.experimentKey] : [])) } }], createdAt: { lte: at } },
    orderBy: { createdAt: 'asc' },
    take: 100,
    select: { key: true },
  });
  const experiments = await Promise.all(
    rows.map(async ({ key }) => {
      const exp = await loadExperiment(prisma, key);
      const { config } = exp.def;
      const design = cellDesignOf(exp);
      const [cells, snap, recent, variants] = await Promise.all([
        queryEveryUnit<CellRow>(
          pool,
          `WITH ${unitValueCtes([], { asOfParam: '$8' })}
           SELECT key AS metric, variant, seg AS segment, period, share, stratum, COUNT(*)::int AS n, SUM(y)::float8 AS sum, SUM(y * y)::float8 AS ss
           FROM y GROUP BY 1, 2, 3, 4, 5, 6`,
          [...unitValueParams(exp.id, config.metrics, design), asOf],
        ),
        prisma.allocationSnapshot.findFirst({ where: { experimentId: exp.id, createdAt: { lte: at } }, orderBy: { version: 'desc' }, select: { version: true, snapshot: true } }),
        pool.query<{ variant: string; n: number }>(
          `SELECT variant, count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1 AND "assignedAt" <= $2::timestamp AND "assignedAt" > $2::timestamp - interval '1 day' GROUP BY variant`,
          [exp.id, asOf],
        ),
        prisma.variant.findMany({ where: { experimentId: exp.id }, orderBy: { key: 'asc' } }),
      ]);
      const s = snap?.snapshot as unknown as AllocationSnapshot | undefined;
      return {
        key,
        name: key,
        kind: exp.kind,
        metrics: config.metrics,
        alpha: config.alpha,
        tuningN: config.sequentialTuningN,
        variants: variants.map((v) => ({ key: v.key, isControl: v.isControl, modelVersionId: ((v.payload ?? {}) as { modelVersionId?: string }).modelVersionId ?? null })),
        snapshot: snap && s ? { version: snap.version, phase: s.phase, segments: s.segments.map((g) => ({ id: g.id, coverage: g.coverage, weights: g.weights })) } : null,
        cells: cells.rows.map(toCellStats),
        recentUnits: Object.fromEntries(recent.rows.map((r) => [r.variant, r.n])),
      };
    }),
  );
  const promotions = await prisma.auditLog.findMany({ where: { action: 'model.promoted', target: { startsWith: `${entity}/` } }, select: { at: true, data: true } });
  return {
    entity,
    at: at.toISOString(),
    experiments,
    models: models.map((m) => ({ id: m.id, modelType: m.modelType, version: m.version, uri: m.uri, status: m.status, experimentKey: m.experimentKey, createdAt: m.createdAt.toISOString(), updatedAt: m.updatedAt.toISOString() })),
    promotions: promotions.flatMap((p) => {
      const k = (p.data as { experimentKey?: unknown } | null)?.experimentKey;
      return typeof k === 'string' ? [{ experimentKey: k, at: p.at.toISOString() }] : [];
    }),
  };
}

/** An experiment's offline evaluations as the report shows them (infra/evaluation-*, activities/evaluate.ts). */
export interface OfflineEvaluations {
  /** Latest finished "what if" (off-policy estimates of the standard alternatives or given policies). */
  policy: StoredEvaluation | null;
  /** Latest finished running-window comparison. */
  window: StoredEvaluation | null;
  /** Evaluations of either kind still running (as workflows). */
  running: Array<{ id: string; kind: string; createdAt: string }>;
}

interface StoredEvaluation {
  id: string;
  createdAt: string;
  request: unknown;
  result: unknown;
}

/** The latest policy and window evaluations of experiment `key`, and those still running. */
export async function loadOfflineEvaluations(prisma: PrismaClient, key: string): Promise<OfflineEvaluations> {
  const where = { kind: { in: ['policy', 'window'] }, request: { path: ['experiment'], equals: key } };
  const [finished, running] = await Promise.all([
    Promise.all(
      (['policy', 'window'] as const).map((kind) =>
        prisma.evaluationRun.findFirst({ where: { ...where, kind, status: 'succeeded' }, orderBy: { createdAt: 'desc' }, select: { id: true, createdAt: true, request: true, result: true } }),
      ),
    ),
    prisma.evaluationRun.findMany({ where: { ...where, status: 'running' }, orderBy: { createdAt: 'desc' }, take: 10, select: { id: true, kind: true, createdAt: true } }),
  ]);
  const stored = (r: (typeof finished)[number]): StoredEvaluation | null => (r ? { id: r.id, createdAt: r.createdAt.toISOString(), request: r.request, result: r.result } : null);
  return {
    policy: stored(finished[0] ?? null),
    window: stored(finished[1] ?? null),
    running: running.map((r) => ({ id: r.id, kind: r.kind, createdAt: r.createdAt.toISOString() })),
  };
}

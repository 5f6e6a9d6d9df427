/**
 * Loads what an offline replay needs from Postgres: per cycle, the stored collect cells and the
 * time they were collected, the cells recomputed now from the logged exposures and events as of
 * that time, the stored segmentation and terminations, and the online decision; plus every
 * snapshot. Nothing is written.
 */
import type { Pool } from 'pg';
import type { CollectPayload } from '../activities/collect.js';
import type { SegmentPayload } from '../activities/segment.js';
import type { ThrottlePayload } from '../activities/throttle.js';
import type { ReplayCycle, ReplayInput } from '../domain/evaluation/replay.js';
import type { AllocationSnapshot } from '../domain/types.js';
import { controlVariant, type ExperimentDefinition } from '../domain/experiment/snapshot.js';
import type { CellStats } from '../domain/types.js';
import { toCellStats, type CellRow } from './aggregates.js';
import type { LoadedExperiment } from './experiment-repo.js';
import type { PrismaClient } from './prisma.js';
import { eventCountsFor } from './ingest.js';

export async function loadReplayInput(deps: { prisma: PrismaClient; pool: Pool }, exp: LoadedExperiment): Promise<ReplayInput> {
  const { config } = exp.def;
  const steps = await deps.prisma.cycleStats.findMany({ where: { experimentId: exp.id, step: { in: ['collect', 'segment', 'throttle'] } }, orderBy: { cycle: 'asc' } });
  const decisions = await deps.prisma.decision.findMany({ where: { experimentId: exp.id }, orderBy: { cycle: 'asc' } });
  const decidePayloads = await deps.prisma.cycleStats.findMany({ where: { experimentId: exp.id, step: 'decide' }, select: { cycle: true, payload: true } });
  const winners = new Map(decidePayloads.map((d) => [d.cycle, ((d.payload as { winner?: string | null }).winner ?? null) as string | null]));
  const snapshots = await deps.prisma.allocationSnapshot.findMany({ where: { experimentId: exp.id }, select: { version: true, snapshot: true } });
  const actions = await deps.prisma.operatorAction.findMany({ where: { experimentId: exp.id }, orderBy: { at: 'asc' } });
  const decidedAt = new Map(decidePayloads.map((d) => [d.cycle, (d.payload as { decidedAt?: number }).decidedAt]));
  const started = await deps.prisma.experiment.findUniqueOrThrow({ where: { id: exp.id }, select: { createdAt: true } });
  const at = (cycle: number, step: string) => steps.find((s) => s.cycle === cycle && s.step === step);
  const cycles: ReplayCycle[] = [];
  let terminated = new Set<number>();
  for (const d of decisions) {
    const collect = at(d.cycle, 'collect');
    const segment = at(d.cycle, 'segment');
    if (!collect || !segment) continue;
    const collected = collect.payload as unknown as CollectPayload;
    const segmented = segment.payload as unknown as SegmentPayload;
    // The decide step saw the Segment table right after this cycle's throttle step.
    const throttle = at(d.cycle, 'throttle')?.payload as ThrottlePayload | undefined;
    if (throttle?.results?.length) terminated = new Set(throttle.results.filter((r) => r.status === 'terminated').map((r) => r.id));
    const loggedCells = await cellsBelowWatermark(deps.pool, exp, collected.watermark ?? null, collect.createdAt);
    // The decision's own time when it recorded one, else when its row was written.
    const when = decidedAt.get(d.cycle) ?? d.createdAt.getTime();
    cycles.push({
      cycle: d.cycle,
      decidedAt: when,
      actions: actions.filter((a) => a.at.getTime() <= when),
      loggedCells,
      storedCells: collected.cells,
      segments: { enabled: segmented.enabled, ids: segmented.segments.map((s) => s.id) },
      terminated: new Set(terminated),
      online: { outcome: d.outcome, winner: winners.get(d.cycle) ?? null },
    });
  }
  return {
    def: exp.def,
    startedAt: started.createdAt.getTime(),
    snapshots: new Map(snapshots.map((s) => [s.version, s.snapshot as unknown as AllocationSnapshot])),
    cycles,
  };
}

/**
 * A cycle's cells recomputed from the logged rows it could see: exposures and events written by
 * transactions below its watermark (the collect step's `hi`), events attributed as the per-unit
 * aggregates attribute them (tracked name, unscoped or scoped to this experiment, within the
 * attribution window of the unit's exposure). Cycles collected before the watermark was recorded
 * fall back to exposures assigned by the collect step's time.
 */
async function cellsBelowWatermark(pool: Pool, exp: LoadedExperiment, hi: string | null, collectedAt: Date): Promise<CellStats[]> {
  const def: ExperimentDefinition = exp.def;
  const { config } = def;
  const contextual = config.policy.kind === 'contextual' && def.variants.length === 2;
  const strata = config.postStratify ?? (config.randomization.type === 'stratified' ? config.randomization.strata : []);
  const res = await pool.query<CellRow>(
    `WITH a AS (
       SELECT a."unitId", a.variant, a.segment AS seg, a."snapshotVersion" AS period, a."assignedAt",
              CASE WHEN $5::boolean THEN round((CASE WHEN a.variant = $6 THEN 1 - a.propensity ELSE a.propensity END)::numeric, 6)::float8 END AS share,
              CASE WHEN cardinality($7::text[]) > 0
                   THEN (SELECT string_agg(COALESCE(a.context ->> f, ''), '|' ORDER BY i) FROM unnest($7::text[]) WITH ORDINALITY AS t(f, i)) END AS stratum
       FROM "Assignment" a
       WHERE a."experimentId" = $1
         AND (CASE WHEN $10::bigint IS NULL THEN a."assignedAt" <= $11::timestamptz ELSE a.txid < $10::bigint END)
     ),
     ev AS (
       SELECT e."unitId", e.name, COUNT(*)::float8 AS c, SUM(e.value)::float8 AS s
       FROM "Event" e JOIN a ON a."unitId" = e."unitId"
       WHERE e.name = ANY($3::text[]) AND ${eventCountsFor('e', '$1::uuid')}
         AND e."timestamp" >= a."assignedAt" - make_interval(secs => $8)
         AND ($9::float8 IS NULL OR e."timestamp" <= a."assignedAt" + make_interval(secs => $9))
         AND ($10::bigint IS NULL OR e.txid < $10::bigint)
       GROUP BY e."unitId", e.name
     ),
     mt AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS mt(key, event, type)),
     y AS (
       SELECT mt.key, a.variant, a.seg, a.period, a.share, a.stratum,
              CASE WHEN mt.type = 'binary' THEN (CASE WHEN ev.c > 0 THEN 1.0 ELSE 0.0 END)
                   WHEN mt.type = 'count' THEN COALESCE(ev.c, 0) ELSE COALESCE(ev.s, 0) END AS y
       FROM a CROSS JOIN mt LEFT JOIN ev ON ev."unitId" = a."unitId" AND ev.name = mt.event
     )
     SELECT key AS metric, variant, seg AS segment, period, share, stratum, COUNT(*)::int AS n, SUM(y)::float8 AS sum, SUM(y * y)::float8 AS ss
     FROM y GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
    [
      exp.id,
      config.metrics.map((m) => m.key),
      config.metrics.map((m) => m.event),
      config.metrics.map((m) => m.type),
      contextual,
      controlVariant(def),
      strata,
      config.attribution.lookbackSeconds,
      config.attribution.windowHours === undefined ? null : config.attribution.windowHours * 3600,
      hi,
      collectedAt,
    ],
  );
  return res.rows.map(toCellStats);
}

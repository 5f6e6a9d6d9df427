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
import { cellDesignFor, collectCellStats } from './aggregates.js';
import type { LoadedExperiment } from './experiment-repo.js';
import type { PrismaClient } from './prisma.js';

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
    const time = collected.asOf ? new Date(collected.asOf) : collect.createdAt;
    // An empty table had no max id: nothing was visible, so nothing may be counted.
    const w = collected.watermark;
    const asOf = w ? { time, assignmentId: w.assignmentId ?? '0', eventId: w.eventId ?? '0' } : { time };
    const loggedCells = await collectCellStats(deps.pool, exp.id, config.metrics, cellDesignFor(exp.def, asOf));
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

/**
 * Step 4: compute each segment's arm weights with the configured policy (Thompson by default) within
 * the bounds, apply a manual override or external-event dampening, and publish a new snapshot.
 */
import { computeAllocation, dampenTowardControl } from '../domain/allocation/index.js';
import { poolByVariant } from '../domain/experiment/cells.js';
import type { ExternalContextEvent } from '../domain/experiment/state.js';
import { buildSnapshot, controlVariant, initialWeights } from '../domain/experiment/snapshot.js';
import { createRng } from '../domain/rng.js';
import type { SnapshotSegment, Weights } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { latestSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import type { CollectPayload } from './collect.js';
import { readStep } from './cycle-store.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import type { SegmentPayload } from './segment.js';
import { seedFor } from './seed.js';

export interface ReallocateInput extends CycleRef {
  override: Weights | null;
  externalEvents: ExternalContextEvent[];
}

export function reallocateTraffic(d: ActivityDeps) {
  return async (input: ReallocateInput): Promise<{ version: number; weights: Record<string, Weights> }> => {
    const { experimentKey, cycle } = input;
    const exp = await loadExperiment(d.prisma, experimentKey);
    const collected = await readStep<CollectPayload>(d.prisma, exp.id, cycle, 'collect');
    const segmented = await readStep<SegmentPayload>(d.prisma, exp.id, cycle, 'segment');
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before reallocate`);
    const { config } = exp.def;
    const primary = config.metrics.find((m) => m.role === 'primary')!;
    const variants = exp.def.variants.map((v) => v.key);
    const control = controlVariant(exp.def);
    const previous = await latestSnapshot(d.prisma, exp.id);
    const prevSegments = new Map((previous?.segments ?? []).map((s) => [s.id, s]));
    const statusRows = await d.prisma.segment.findMany({ where: { experimentId: exp.id } });
    const statusById = new Map(statusRows.map((r) => [r.segmentId, r]));
    const now = (d.now ?? (() => new Date()))();
    const rng = createRng(seedFor(exp.def.seed, cycle, 'reallocate'));
    const halfLifeMs = config.policy.kind === 'contextual' ? config.policy.dampeningHalfLifeSeconds * 1000 : 3_600_000;

    const reasons: string[] = [];
    const segments: SnapshotSegment[] = segmented.segments.map((s) => {
      const prev = prevSegments.get(s.id) ?? prevSegments.get(0);
      const row = statusById.get(s.id);
      const status = row?.status ?? 'active';
      const coverage = row ? row.coverage * config.coverage : config.coverage;
      let weights: Weights;
      if (input.override) {
        weights = input.override;
        reasons.push(`segment ${s.id}: manual override`);
      } else {
        const stats = poolByVariant(collected.cells, primary.key, variants, s.id);
        const result = computeAllocation({
          policy: config.policy,
          metricType: primary.type,
          direction: primary.direction,
          variants,
          control,
          stats,
          previous: prev?.weights ?? initialWeights(exp.def),
          bounds: config.bounds,
          minSamplePerArm: config.minSamplePerArm,
          rng,
          now,
        });
        weights = result.weights;
        reasons.push(`segment ${s.id}: ${result.reason}`);
      }
      if (input.externalEvents.length) {
        const dampened = dampenTowardControl(weights, control, input.externalEvents, now, halfLifeMs, config.bounds.floor);
        if (dampened.factor > 0.001) reasons.push(`segment ${s.id}: external-event dampening ×${(1 - dampened.factor).toFixed(3)}`);
        weights = dampened.weights;
      }
      return { id: s.id, status, coverage: status === 'terminated' ? 0 : coverage, weights, centroid: s.contextCentroid };
    });

    const snapshot = await saveSnapshot(d.prisma, d.redis, exp.id, { cycle, step: 'reallocate' }, (version) =>
      buildSnapshot(exp.def, {
        version,
        cycle,
        phase: 'running',
        segments,
        segmentFeatures: segmented.contextScaling,
        reason: reasons.join('; '),
        now: now.toISOString(),
      }),
    );
    return { version: snapshot.version, weights: Object.fromEntries(snapshot.segments.map((s) => [String(s.id), s.weights])) };
  };
}

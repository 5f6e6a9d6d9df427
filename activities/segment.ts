/**
 * Step 2: segment units with seeded k-means on behaviour features built from their events. Segment
 * ids stay stable across cycles (centroid matching); memberships and centroids are persisted, and the
 * context-space centroids let the API place new units.
 */
import { buildUnitFeatures, type FeatureConfig } from '../domain/segmentation/features.js';
import { segmentUnits as runSegmentation } from '../domain/segmentation/segment-units.js';
import type { FeatureScaling } from '../domain/types.js';
import { sampleUnitAggregates, upsertMemberships } from '../infra/aggregates.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { countUnits, loadExperiment } from '../infra/experiment-repo.js';
import { saveSegmentShape } from '../infra/segment-repo.js';
import { readPreviousStep, readStep, writeStepOnce } from '../infra/cycle-store.js';
import { segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import { seedFor } from './seed.js';

export interface SegmentPayload {
  enabled: boolean;
  k: number;
  silhouette: number | null;
  segments: Array<{ id: number; size: number; centroid: number[]; contextCentroid: number[] | null }>;
  contextScaling: FeatureScaling[];
  nextId: number;
  sampleSize: number;
}

export function segmentUnits(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ k: number; sizes: Record<string, number> }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const done = await readStep(stepRef, 'segment', segmentPayloadSchema);
    if (done) return summary(done);
    const seg = exp.def.config.segmentation;
    const prev = (await readPreviousStep(stepRef, 'segment', segmentPayloadSchema))?.payload;

    if (!seg.enabled || seg.features.length === 0) {
      const units = await countUnits(d.prisma, exp.id);
      await saveSegmentShape(d.prisma, exp.id, cycle, { id: 0, size: units, centroid: [], contextCentroid: null }, []);
      const payload: SegmentPayload = { enabled: false, k: 1, silhouette: null, segments: [{ id: 0, size: units, centroid: [], contextCentroid: null }], contextScaling: [], nextId: 1, sampleSize: units };
      return summary(await writeStepOnce(stepRef, 'segment', segmentPayloadSchema, payload));
    }

    const featureConfig: FeatureConfig = {
      behaviour: seg.features.map((f) => ({ name: f.name, event: f.event, aggregate: f.agg })),
      context: seg.contextFeatures,
      engagementWeights: seg.engagementWeights,
      ...(seg.conversionEvent ? { conversion: { event: seg.conversionEvent } } : {}),
    };
    await refreshUnitAggregates(d.pool, exp.id, experimentAggregateSpec(exp));
    const rows = await sampleUnitAggregates(d.pool, exp.id, {
      events: [...new Set([...seg.features.map((f) => f.event), ...(seg.conversionEvent ? [seg.conversionEvent] : [])])],
      contextFeatures: seg.contextFeatures,
      limit: seg.maxSample,
      seed: `${exp.def.seed}:${cycle}`,
    });
    // Too few units to cluster: keep last cycle's segments (or the catch-all) and wait for data.
    if (rows.length < Math.max(2 * seg.kMax, 50)) {
      const payload: SegmentPayload = prev ?? { enabled: true, k: 1, silhouette: null, segments: [{ id: 0, size: rows.length, centroid: [], contextCentroid: null }], contextScaling: [], nextId: 1, sampleSize: rows.length };
      return summary(await writeStepOnce(stepRef, 'segment', segmentPayloadSchema, payload));
    }
    const features = buildUnitFeatures(rows, featureConfig);
    const result = runSegmentation({
      points: features.points,
      contextPoints: seg.contextFeatures.length ? features.contextPoints : undefined,
      // With no points there is no dimension to match, so no previous centroid carries over.
      previous: prev?.segments.filter((s) => s.centroid.length === features.points[0]?.length).map((s) => ({ id: s.id, centroid: s.centroid })),
      nextId: prev?.nextId,
      kRange: [seg.kMin, seg.kMax],
      seed: seedFor(exp.def.seed, cycle, 'segment'),
      maxSample: Math.min(seg.maxSample, 5000),
      mode: seg.mode,
      dbscan: seg.dbscan,
    });
    await upsertMemberships(d.pool, exp.id, cycle, features.unitIds, result.assignments);
    const segments = result.segments.map((s) => ({ id: s.id, size: s.size, centroid: s.centroid, contextCentroid: s.contextCentroid }));
    for (const s of segments) await saveSegmentShape(d.prisma, exp.id, cycle, s, features.contextScaling);
    const payload: SegmentPayload = {
      enabled: true,
      k: result.k,
      silhouette: result.silhouette,
      segments,
      contextScaling: features.contextScaling,
      nextId: result.nextId,
      sampleSize: result.sampleSize,
    };
    return summary(await writeStepOnce(stepRef, 'segment', segmentPayloadSchema, payload));
  };
}

function summary(p: SegmentPayload) {
  return { k: p.k, sizes: Object.fromEntries(p.segments.map((s) => [String(s.id), s.size])) };
}

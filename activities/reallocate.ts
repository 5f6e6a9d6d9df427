/**
 * Step 4: load what the allocation plan needs, compute it (domain/experiment/allocation-plan.ts:
 * override, concluded segment, policy), fit the contextual risk model when configured, and publish
 * a new snapshot.
 */
import { fitContextualPolicy, type RampState } from '../domain/allocation/index.js';
import { contextualFitOptions, planAllocation, primaryMetric } from '../domain/experiment/allocation-plan.js';
import type { ExternalContextEvent } from '../domain/experiment/state.js';
import { buildSnapshot } from '../domain/experiment/snapshot.js';
import { createRng } from '../domain/rng.js';
import type { AllocationSnapshot, Weights } from '../domain/types.js';
import { recentContextRows } from '../infra/aggregates.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { latestSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import { segmentStates } from '../infra/segment-repo.js';
import { readPreviousStep, readStep, writeStepOnce } from '../infra/cycle-store.js';
import { collectPayloadSchema, decidePayloadSchema, reallocatePayloadSchema, segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import { seedFor } from './seed.js';

export interface ReallocateInput extends CycleRef {
  override: Weights | null;
  externalEvents: ExternalContextEvent[];
}

interface ContextualFitSummary {
  rowsUsed: number;
  leaves: number;
  highRisk: number;
}

export interface ReallocatePayload {
  ramp: Record<number, RampState>;
  contextual: ContextualFitSummary | null;
  /** Fixed policy: weights as moved by the decision's raise/lower steps, the base of the next step. */
  stepped?: Record<number, Weights>;
}

export function reallocateTraffic(d: ActivityDeps) {
  return async (input: ReallocateInput): Promise<{ version: number; weights: Record<string, Weights> }> => {
    const { experimentKey, cycle } = input;
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const collected = await readStep(stepRef, 'collect', collectPayloadSchema);
    const segmented = await readStep(stepRef, 'segment', segmentPayloadSchema);
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before reallocate`);
    const { config } = exp.def;
    const previous = await latestSnapshot(d.prisma, exp.id);
    const now = (d.now ?? (() => new Date()))();
    const plan = planAllocation({
      def: exp.def,
      segments: segmented.segments,
      segmentStatus: await segmentStates(d.prisma, exp.id),
      previousSegments: previous?.segments ?? [],
      cells: collected.cells,
      override: input.override,
      decision: (await readPreviousStep(stepRef, 'decide', decidePayloadSchema))?.payload,
      previousPlan: (await readPreviousStep(stepRef, 'reallocate', reallocatePayloadSchema))?.payload,
      externalEvents: input.externalEvents.map((e) => ({ at: Date.parse(e.at), severity: e.severity, kind: e.kind, ...(e.halfLifeMs ? { halfLifeMs: e.halfLifeMs } : {}) })),
      rng: createRng(seedFor(exp.def.seed, cycle, 'reallocate')),
      now: now.getTime(),
    });
    const { segments, reasons, dampening, stepped } = plan;

    // The contextual risk model: an uplift tree on recent units' context, served in the snapshot so
    // the API shifts each unit's treatment share by its context's risk.
    let contextual: ContextualFitSummary | null = null;
    let contextualModel: AllocationSnapshot['contextual'];
    const fitOptions = contextualFitOptions(exp.def, input.override);
    if (fitOptions) {
      await refreshUnitAggregates(d.pool, exp.id, experimentAggregateSpec(exp));
      const rows = await recentContextRows(d.pool, exp.id, { features: fitOptions.features, metric: primaryMetric(config), limit: fitOptions.maxRows });
      const fit = fitContextualPolicy(rows, fitOptions, dampening);
      contextualModel = fit.model;
      contextual = { rowsUsed: fit.rowsUsed, leaves: fit.leaves.length, highRisk: fit.leaves.filter((l) => l.risk === 'high').length };
      reasons.push(`contextual model: ${contextual.leaves} contexts from ${contextual.rowsUsed} units, ${contextual.highRisk} high-risk`);
    }

    await writeStepOnce(stepRef, 'reallocate', reallocatePayloadSchema, { ramp: plan.ramp, contextual, ...(Object.keys(stepped).length ? { stepped } : {}) });
    const snapshot = await saveSnapshot(d.prisma, d.redis, exp.id, { cycle, step: 'reallocate' }, (version) =>
      buildSnapshot(exp.def, {
        version,
        cycle,
        phase: 'running',
        segments,
        segmentFeatures: segmented.contextScaling,
        contextual: contextualModel,
        reason: reasons.join('; '),
        now: now.toISOString(),
      }),
    );
    return { version: snapshot.version, weights: Object.fromEntries(snapshot.segments.map((s) => [String(s.id), s.weights])) };
  };
}

/**
 * Step 4: compute each segment's arm weights with the configured policy (Thompson by default) within
 * the bounds, apply a manual override or external-event dampening, and publish a new snapshot.
 */
import { computeAllocation, dampeningFactor, fitContextualPolicy, type AllocationResult, type RampState } from '../domain/allocation/index.js';
import { resolvePolicy } from '../domain/decision/policy.js';
import { policyFor } from '../domain/experiment/allocation-plan.js';
import { poolByVariant } from '../domain/experiment/cells.js';
import type { ExternalContextEvent } from '../domain/experiment/state.js';
import { applyWeightActions, routeStoppedArms } from '../domain/decision/arm-weights.js';
import { closedArmsBySegment, servingForConcludedSegments, servingWeights } from '../domain/decision/segment-conclusions.js';
import { buildSnapshot, controlVariant, initialWeights } from '../domain/experiment/snapshot.js';
import { createRng } from '../domain/rng.js';
import type { AllocationSnapshot, SnapshotSegment, Weights } from '../domain/types.js';
import { recentContextRows } from '../infra/aggregates.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { latestSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import type { CollectPayload } from './collect.js';
import { readPreviousStep, readStep, writeStepOnce } from './cycle-store.js';
import type { DecidePayload } from './decide.js';
import { collectPayloadSchema, decidePayloadSchema, reallocatePayloadSchema, segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import type { SegmentPayload } from './segment.js';
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

/** Weights summing to 1 (all to control when nothing is left). */
function renormalise(w: Weights, control: string): Weights {
  const total = Object.values(w).reduce((a, b) => a + b, 0);
  if (!(total > 0)) return Object.fromEntries(Object.keys(w).map((k) => [k, k === control ? 1 : 0]));
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v / total]));
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

    const events = input.externalEvents.map((e) => ({ at: Date.parse(e.at), severity: e.severity, kind: e.kind, ...(e.halfLifeMs ? { halfLifeMs: e.halfLifeMs } : {}) }));
    const dampening = events.length ? dampeningFactor(events, now.getTime(), halfLifeMs) : 0;
    // Ramp state per segment is carried from the previous cycle; a step advances only while the
    // last decision saw no harm.
    const prevRealloc = (await readPreviousStep(stepRef, 'reallocate', reallocatePayloadSchema))?.payload;
    const prevDecision = (await readPreviousStep(stepRef, 'decide', decidePayloadSchema))?.payload;
    const guardrailOk = prevDecision?.outcome !== 'stop_harm';
    const concluded = servingForConcludedSegments(prevDecision?.segmentDecisions ?? [], control);
    // Arms stopped by the breaker (everywhere) or harmful/ended in a segment get no traffic there.
    const stoppedArms = Object.keys(prevDecision?.stoppedArms ?? {});
    const closedInSegment = closedArmsBySegment(prevDecision?.segmentDecisions ?? []);
    const stepped: Record<number, Weights> = {};
    const policyStep = resolvePolicy(config.decision).arms.weightStep;
    const rampFor = (id: number): RampState => prevRealloc?.ramp[id] ?? { step: 0, enteredAt: now.getTime() };
    const rampStates: Record<number, RampState> = {};
    const rampCoverage: Record<number, number> = {};

    const reasons: string[] = [];
    const segments: SnapshotSegment[] = segmented.segments.map((s) => {
      const prev = prevSegments.get(s.id) ?? prevSegments.get(0);
      const row = statusById.get(s.id);
      const status = row?.status ?? 'active';
      const coverage = row ? row.coverage * config.coverage : config.coverage;
      let weights: Weights;
      const conclusion = concluded.get(s.id);
      if (input.override) {
        // The breaker wins over an override: a stopped arm returns only when an operator re-enables it.
        weights = stoppedArms.length ? routeStoppedArms(input.override, stoppedArms, control) : input.override;
        reasons.push(`segment ${s.id}: manual override`);
      } else if (conclusion) {
        // The segment has its answer; everyone in it gets the concluded variant.
        weights = servingWeights(variants, conclusion.serve);
        reasons.push(conclusion.reason);
      } else {
        const closed = new Set([...stoppedArms, ...(closedInSegment.get(s.id) ?? [])].filter((v) => v !== control));
        const open = variants.filter((v) => !closed.has(v));
        const restrict = (w: Weights) => (closed.size === 0 ? w : renormalise(Object.fromEntries(open.map((v) => [v, w[v] ?? 0])), control));
        const stats = poolByVariant(collected.cells, primary.key, open, s.id);
        const result = open.length < 2 ? { weights: servingWeights(open, control), reason: `every arm closed, serve ${control}` } as AllocationResult : computeAllocation({
          policy: policyFor(config, primary.type, rampFor(s.id), guardrailOk, restrict(initialWeights(exp.def)), open.find((v) => v !== control) ?? control),
          variants: exp.def.variants.filter((v) => open.includes(v.key)).map((v) => ({ key: v.key, isControl: v.isControl })),
          stats,
          previous: restrict(prev?.weights ?? initialWeights(exp.def)),
          bounds: { ...config.bounds, minUnitsPerArm: config.minSamplePerArm },
          direction: primary.direction,
          rng,
          now: now.getTime(),
          // Dampening goes through the policy so the bounds (floor, max change) still hold after it.
          externalContext: events.length ? { events, halfLifeMs } : undefined,
        });
        weights = { ...Object.fromEntries(variants.map((v) => [v, 0])), ...result.weights };
        if (closed.size) reasons.push(`segment ${s.id}: ${[...closed].join(', ')} closed, routed to ${control}`);
        // Fixed weights move only by the decision policy's per-arm raise/lower steps.
        const actions = prevDecision?.weightActions ?? [];
        const base = prevRealloc?.stepped?.[s.id];
        if (config.policy.kind === 'fixed' && (actions.length || base)) {
          weights = applyWeightActions(base ?? weights, actions, policyStep, [...closed], control);
          stepped[s.id] = weights;
          if (actions.length) reasons.push(`segment ${s.id}: ${actions.map((a) => `${a.action} ${a.arm}`).join(', ')} (decision policy)`);
        }
        if (result.ramp) rampStates[s.id] = result.ramp;
        if (result.coverage !== undefined) rampCoverage[s.id] = result.coverage;
        reasons.push(`segment ${s.id}: ${result.reason}`);
      }
      if (dampening > 0.001 && !input.override && !conclusion) reasons.push(`segment ${s.id}: external-event dampening ${(100 * dampening).toFixed(1)}% toward control`);
      const served = status === 'terminated' ? 0 : (rampCoverage[s.id] ?? 1) * coverage;
      return { id: s.id, status, coverage: served, weights, centroid: s.contextCentroid };
    });

    // The contextual risk model: an uplift tree on recent units' context, served in the snapshot so
    // the API shifts each unit's treatment share by its context's risk.
    let contextual: ContextualFitSummary | null = null;
    let contextualModel: AllocationSnapshot['contextual'];
    if (config.policy.kind === 'contextual' && !input.override) {
      const p = config.policy;
      await refreshUnitAggregates(d.pool, exp.id, experimentAggregateSpec(exp));
      const rows = await recentContextRows(d.pool, exp.id, { features: p.features, metric: primary, limit: p.maxRows });
      const treatment = variants.find((v) => v !== control)!;
      const fit = fitContextualPolicy(
        rows,
        {
          control,
          treatment,
          features: p.features,
          baseline: p.baseline,
          adjustment: { down: p.adjustmentRange, up: p.adjustmentRange },
          riskTolerance: p.riskTolerance,
          floor: config.bounds.floor,
          direction: primary.direction,
          maxRows: p.maxRows,
        },
        dampening,
      );
      contextualModel = fit.model;
      contextual = { rowsUsed: fit.rowsUsed, leaves: fit.leaves.length, highRisk: fit.leaves.filter((l) => l.risk === 'high').length };
      reasons.push(`contextual model: ${contextual.leaves} contexts from ${contextual.rowsUsed} units, ${contextual.highRisk} high-risk`);
    }

    await writeStepOnce(stepRef, 'reallocate', reallocatePayloadSchema, { ramp: rampStates, contextual, ...(Object.keys(stepped).length ? { stepped } : {}) });
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

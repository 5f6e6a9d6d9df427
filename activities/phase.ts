/**
 * Phase changes and manual overrides: persist the experiment status, audit who did what and why,
 * and publish a snapshot that reflects it (paused/stopped serve the default; a shipped experiment
 * serves its winner to everyone).
 */
import type { ExperimentPhase, Weights } from '../domain/types.js';
import { loadExperiment, saveExperimentStatus } from '../infra/experiment-repo.js';
import { auditOnce } from '../infra/audit-log.js';
import { latestSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import type { ActivityDeps } from './deps.js';
import { settleComparisonOnce } from '../infra/model-registry.js';
import { runWorkflowIds } from '../infra/training-runs.js';
import { enqueueNotification, routeFor } from './notify.js';
import { comparisonSettledSignal } from '../workflows/retraining.js';
import { servingWeights } from '../domain/decision/segment-conclusions.js';
import { routeStoppedArms } from '../domain/decision/arm-weights.js';
import { controlVariant } from '../domain/experiment/snapshot.js';

export interface PhaseChangeInput {
  experimentKey: string;
  phase: ExperimentPhase;
  winner: string | null;
  actor: string;
  reason: string;
  /** The workflow's running count of phase changes: keys this one for idempotency. */
  seq: number;
}

export function recordPhaseChange(d: ActivityDeps) {
  return async (input: PhaseChangeInput): Promise<{ version: number }> => {
    const exp = await loadExperiment(d.prisma, input.experimentKey);
    const step = `phase-${input.seq}`;
    await saveExperimentStatus(d.prisma, exp.id, input.phase);
    await auditOnce(d.prisma, { actor: input.actor, action: `experiment.${input.phase}`, target: input.experimentKey, reason: input.reason, data: { winner: input.winner }, dedupeKey: `${exp.id}:${step}` });
    const ended = input.phase === 'concluded' || input.phase === 'stopped';
    if (exp.kind === 'model_comparison' && (input.phase === 'concluded' || input.phase === 'stopped')) {
      await settleModelComparison(d, input.experimentKey, input.phase, input.winner, input.reason);
    }
    // Channel consumers learn that an experiment ended however it ended (decision, hand, maxCycles).
    if (ended) {
      const body = { type: 'expflow.experiment_ended', experiment: input.experimentKey, phase: input.phase, winner: input.winner, actor: input.actor, reason: input.reason };
      for (const x of routeFor(exp.def.config, [{ event: 'experiment_ended', key: '', body }], `phase-${exp.id}-${input.seq}`)) {
        await enqueueNotification(d, { ...x, decisionId: null, experimentKey: input.experimentKey });
      }
    }
    const base = await latestSnapshot(d.prisma, exp.id);
    if (!base) throw new Error('experiment has no snapshot');
    const now = (d.now ?? (() => new Date()))().toISOString();
    const variants = exp.def.variants.map((v) => v.key);
    const snap = await saveSnapshot(d.prisma, d.redis, exp.id, { cycle: base.cycle, step }, (version, latest) => {
      const from = latest ?? base;
      // A winner is served to everyone; without one, each segment keeps the answer it settled on.
      const shipped = input.phase === 'concluded' && input.winner ? input.winner : null;
      return {
        ...from,
        version,
        phase: input.phase,
        defaultVariant: shipped ?? from.defaultVariant,
        segments: shipped ? from.segments.map((s) => ({ ...s, status: 'active' as const, weights: servingWeights(variants, shipped) })) : from.segments,
        reason: `${input.phase} by ${input.actor}: ${input.reason}`,
        createdAt: now,
      };
    });
    return { version: snap.version };
  };
}

/**
 * Settles a registry comparison: a shipped challenger becomes champion and the rest are retired,
 * otherwise the challengers are rejected (domain/models/comparison.ts); each records the comparison
 * as its lineage. A no-op once settled. Then the candidates that waited start the next comparison,
 * and the retraining runs whose versions were compared learn that it ended.
 */
async function settleModelComparison(d: ActivityDeps, experimentKey: string, phase: 'concluded' | 'stopped', winner: string | null, reason: string): Promise<void> {
  const settled = await settleComparisonOnce(d.prisma, { experimentKey, phase, winner, reason });
  if (!settled || !d.training) return;
  const { temporal, comparisons } = d.training;
  // The end of one comparison starts the next for whoever registered meanwhile.
  const next = await comparisons.tryStartNext(settled.entity, settled.modelType, 'expflow').catch((e: Error) => ({ state: 'refused' as const, reason: e.message }));
  if (next.state === 'refused') console.error(`[models] could not start the next comparison of ${settled.entity}/${settled.modelType}: ${next.reason}`);
  for (const workflowId of await runWorkflowIds(d.prisma, settled.runIds)) {
    await temporal.workflow.getHandle(workflowId).signal(comparisonSettledSignal, { experimentKey }).catch((e: Error) => {
      if (e.name !== 'WorkflowNotFoundError') throw e;
    });
  }
}

export interface OverrideInput {
  experimentKey: string;
  overrideSeq: number;
  /** null clears the override; the next cycle's policy takes over again. */
  weights: Weights | null;
  actor: string;
  reason: string;
  /** Arms the circuit breaker stopped: they stay on control under the override (the breaker wins). */
  stoppedArms?: string[];
}

export function publishOverride(d: ActivityDeps) {
  return async (input: OverrideInput): Promise<{ version: number; weights: Record<string, Weights> }> => {
    const exp = await loadExperiment(d.prisma, input.experimentKey);
    const step = `override-${input.overrideSeq}`;
    await auditOnce(d.prisma, {
      actor: input.actor,
      action: input.weights ? 'allocation.override' : 'allocation.override_cleared',
      target: input.experimentKey,
      reason: input.reason,
      data: { weights: input.weights },
      dedupeKey: `${exp.id}:${step}`,
    });
    const base = await latestSnapshot(d.prisma, exp.id);
    if (!base) throw new Error('experiment has no snapshot');
    if (!input.weights) return { version: base.version, weights: Object.fromEntries(base.segments.map((s) => [String(s.id), s.weights])) };
    const weights = input.stoppedArms?.length ? routeStoppedArms(input.weights, input.stoppedArms, controlVariant(exp.def)) : input.weights;
    const now = (d.now ?? (() => new Date()))().toISOString();
    const snap = await saveSnapshot(d.prisma, d.redis, exp.id, { cycle: base.cycle, step }, (version, latest) => ({
      ...(latest ?? base),
      version,
      segments: (latest ?? base).segments.map((s) => ({ ...s, weights })),
      reason: `manual override by ${input.actor}: ${input.reason}`,
      createdAt: now,
    }));
    return { version: snap.version, weights: Object.fromEntries(snap.segments.map((s) => [String(s.id), s.weights])) };
  };
}

/**
 * Phase changes and manual overrides: persist the experiment status, audit who did what and why,
 * and publish a snapshot that reflects it (paused/stopped serve the default; a shipped experiment
 * serves its winner to everyone).
 */
import type { ExperimentPhase, Weights } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { latestSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import type { ActivityDeps } from './deps.js';
import { registryLockKey } from '../api/model-comparisons.js';
import { enqueueNotification, routeFor } from './notify.js';
import { settleComparison } from '../domain/models/comparison.js';
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
    await d.prisma.experiment.update({ where: { id: exp.id }, data: { status: input.phase } });
    await d.prisma.auditLog.upsert({
      where: { dedupeKey: `${exp.id}:${step}` },
      create: { actor: input.actor, action: `experiment.${input.phase}`, target: input.experimentKey, reason: input.reason, data: { winner: input.winner }, dedupeKey: `${exp.id}:${step}` },
      update: {},
    });
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
  const settled = await d.prisma.$transaction(async (tx) => {
    const challengers = await tx.modelVersion.findMany({ where: { experimentKey, status: 'candidate' } });
    const first = challengers[0];
    if (!first) {
      // Settled by an earlier attempt: still start the next comparison and signal the runs.
      const compared = await tx.modelVersion.findMany({ where: { experimentKey, settledBy: experimentKey } });
      const any = compared[0];
      if (!any) return null;
      return { entity: any.entity, modelType: any.modelType, runIds: [...new Set(compared.map((c) => c.trainingRunId).filter((x): x is string => x !== null))] };
    }
    const { entity, modelType } = first;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${registryLockKey(entity, modelType)}))`;
    const target = `${entity}/${modelType}`;
    const variants = await tx.variant.findMany({ where: { experiment: { key: experimentKey } } });
    const versionOf = (arm: string) => (variants.find((v) => v.key === arm)?.payload as { modelVersionId?: string } | undefined)?.modelVersionId;
    // Promote only over the champion this comparison was run against.
    const comparedWith = versionOf('champion');
    const current = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
    const championChanged = current !== null && current.id !== comparedWith;
    const arms = variants.filter((v) => v.key !== 'champion').map((v) => ({ arm: v.key, id: versionOf(v.key) ?? '' }));
    const plan = settleComparison({
      phase,
      winner,
      champion: { id: comparedWith ?? current?.id ?? '', isCurrent: !championChanged },
      challengers: arms.filter((a) => challengers.some((c) => c.id === a.id)),
    });
    for (const change of plan.changes) {
      await tx.modelVersion.updateMany({ where: { id: change.id }, data: { status: change.status, settledBy: experimentKey } });
    }
    const promoted = challengers.find((c) => c.id === plan.promoted);
    const why = championChanged ? `the champion changed during the comparison (now ${current?.version}); ${reason}` : reason;
    await tx.auditLog.create({
      data: {
        actor: 'expflow',
        action: promoted ? 'model.promoted' : 'model.rejected',
        target,
        reason: promoted ? `${promoted.version} promoted, ${plan.changes.filter((c) => c.status === 'retired').length} retired: ${why}` : `${challengers.map((c) => c.version).join(', ')} rejected: ${why}`,
        data: { experimentKey, changes: plan.changes },
      },
    });
    const runIds = [...new Set(challengers.map((c) => c.trainingRunId).filter((x): x is string => x !== null))];
    return { entity, modelType, runIds };
  });
  if (!settled || !d.training) return;
  const { temporal, comparisons } = d.training;
  // The end of one comparison starts the next for whoever registered meanwhile.
  await comparisons.startNext(settled.entity, settled.modelType, 'expflow').catch((e: Error) =>
    console.error(`[models] could not start the next comparison of ${settled.entity}/${settled.modelType}: ${e.message}`),
  );
  const runs = await d.prisma.trainingRun.findMany({ where: { id: { in: settled.runIds } } });
  for (const run of runs) {
    await temporal.workflow.getHandle(run.workflowId).signal(comparisonSettledSignal, { experimentKey }).catch((e: Error) => {
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
    await d.prisma.auditLog.upsert({
      where: { dedupeKey: `${exp.id}:${step}` },
      create: {
        actor: input.actor,
        action: input.weights ? 'allocation.override' : 'allocation.override_cleared',
        target: input.experimentKey,
        reason: input.reason,
        data: { weights: input.weights },
        dedupeKey: `${exp.id}:${step}`,
      },
      update: {},
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

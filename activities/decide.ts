/**
 * Step 6: the decision, by the experiment's decision policy (domain/decision): readiness, the
 * sample-ratio hold, the per-arm circuit breaker, the method's evidence, practical significance,
 * the horizon; then segment-level conclusions (always-valid, Holm across every segment × arm ever
 * tested, starved arms ended on the posterior, guardrails blocking a segment's ship). An arm stopped
 * at this look is routed to control in a snapshot written here, in the same cycle. One Decision row
 * per cycle.
 */
import { type ExperimentDecision, type SegmentArmDecision } from '../domain/decision/index.js';
import { routeStoppedArms, type WeightAction } from '../domain/decision/arm-weights.js';
import type { FixedHorizonPlan } from '../domain/decision/fixed-horizon.js';
import { decideCycle, type StoppedArm } from '../domain/experiment/decide-cycle.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { type SampleRatioCheck } from '../domain/stats/srm.js';
import type { Weights } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { saveSnapshot, snapshotsByVersion } from '../infra/snapshot-writer.js';
import { terminatedSegments } from '../infra/segment-repo.js';
import { operatorActions } from '../infra/operator-actions.js';
import { recordDecisionOnce } from '../infra/decision-log.js';
import { toJsonSafe } from '../domain/json-safe.js';
import { readPreviousStep, readStep, writeStepOnce } from '../infra/cycle-store.js';
import { collectPayloadSchema, decidePayloadSchema, segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export type { StoppedArm };

export interface DecidePayload {
  decisionId: string;
  outcome: ExperimentDecision['outcome'];
  winner: string | null;
  rationale: string;
  segmentDecisions: SegmentArmDecision[];
  /** Segment × arm conclusions first reached at this look (notified once, not every cycle). */
  newSegmentConclusions: number;
  /**
   * Running minimum of each segment × arm always-valid p-value, carried to the next look. Every key
   * ever tested stays here (and in the Holm family), also after its segment disappears.
   */
  segmentPMin: Record<string, number>;
  /** Mixture sd of each segment × arm's mSPRT, fixed at the key's first look and carried (absent in payloads written before it existed). */
  segmentTau?: Record<string, number>;
  /** Segment × arm keys ended on the posterior (starved arms), with their reasons. */
  segmentEnded?: Record<string, string>;
  srm: SampleRatioCheck;
  /** Arms stopped so far (routed to control), by arm. Absent in payloads written before the breaker. */
  stoppedArms?: Record<string, StoppedArm>;
  /** Arms stopped at this look (alerted once). */
  newlyStopped?: string[];
  /** Arms an operator re-enabled: the breaker leaves them alone. */
  exemptArms?: string[];
  /** The look whose sample-ratio alarm is in force (null: no alarm), and whether decisions are held. */
  srmAlarmSince?: number | null;
  srmHold?: boolean;
  /** Raise/lower weight steps for policies that do not set weights themselves, applied by the next reallocation. */
  weightActions?: Array<Pick<WeightAction, 'arm' | 'action'>>;
  plan?: FixedHorizonPlan | null;
  /** The decision's time (epoch ms), so an offline replay decides at the same moment (absent before). */
  decidedAt?: number;
}

export interface DecideResult {
  outcome: ExperimentDecision['outcome'];
  winner: string | null;
  rationale: string;
  /** Segment-level conclusions new at this look. */
  segmentConclusions: number;
  /** Alerts new at this look: arms stopped, a sample-ratio alarm raised. */
  alerts?: number;
  /** Arms stopped so far (the workflow validates re-enable requests against them). */
  stoppedArms?: string[];
  /** True while an unacknowledged sample-ratio alarm is in force. */
  srmAlarm?: boolean;
  /** The snapshot that routed newly stopped arms to control in this cycle. */
  snapshot?: { version: number; weights: Record<string, Weights> };
}

export function decide(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<DecideResult> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const summary = (p: DecidePayload, snapshot?: DecideResult['snapshot']): DecideResult => ({
      outcome: p.outcome,
      winner: p.winner,
      rationale: p.rationale,
      segmentConclusions: p.newSegmentConclusions,
      alerts: (p.newlyStopped?.length ?? 0) + (p.srmAlarmSince === cycle ? 1 : 0),
      stoppedArms: Object.keys(p.stoppedArms ?? {}),
      srmAlarm: p.srmHold ?? false,
      ...(snapshot ? { snapshot } : {}),
    });
    const done = await readStep(stepRef, 'decide', decidePayloadSchema);
    if (done) return summary(done, await breakerSnapshot(d, exp.id, controlVariant(exp.def), cycle, done));
    const collected = await readStep(stepRef, 'collect', collectPayloadSchema);
    const segmented = await readStep(stepRef, 'segment', segmentPayloadSchema);
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before decide`);
    const previous = (await readPreviousStep(stepRef, 'decide', decidePayloadSchema))?.payload;
    const now = (d.now ?? (() => new Date()))().getTime();
    const decided = decideCycle({
      def: exp.def,
      cycle,
      cells: collected.cells,
      segments: { enabled: segmented.enabled, ids: segmented.segments.map((s) => s.id) },
      terminated: await terminatedSegments(d.prisma, exp.id),
      snapshots: await snapshotsByVersion(d.prisma, exp.id),
      previous,
      actions: await operatorActions(d.prisma, exp.id),
      startedAt: exp.createdAt.getTime(),
      now,
    });
    const { outcome, winner, rationale, decision, policy, segmentDecisions, newSegmentConclusions, srm } = decided;
    const control = controlVariant(exp.def);

    const decisionId = await recordDecisionOnce(d.prisma, exp.id, cycle, {
      outcome,
      rationale,
      statistics: toJsonSafe({ policy: policy.preset, method: policy.method, arms: decision.arms, notes: decision.notes, stopArms: decision.stopArms, srm, srmHold: decision.srmHold, segments: segmentDecisions, plan: decision.plan }) as object,
    });
    const payload: DecidePayload = {
      decisionId,
      outcome,
      winner,
      rationale,
      segmentDecisions,
      newSegmentConclusions,
      segmentPMin: decided.segmentPMin,
      segmentTau: decided.segmentTau,
      segmentEnded: decided.segmentEnded,
      srm,
      stoppedArms: decided.stoppedArms,
      newlyStopped: decision.stopArms.map((s) => s.arm),
      exemptArms: decided.exemptArms,
      srmAlarmSince: decided.srmAlarmSince,
      srmHold: decision.srmHold,
      weightActions: decision.weightActions.map(({ arm, action }) => ({ arm, action })),
      plan: decision.plan,
      decidedAt: now,
    };
    const stored = await writeStepOnce(stepRef, 'decide', decidePayloadSchema, payload);
    return summary(stored, await breakerSnapshot(d, exp.id, control, cycle, stored));
  };
}

/**
 * Routes the arms stopped at this look to control, in every segment, in a snapshot of this cycle:
 * the circuit breaker acts in the cycle that found the breach, not at the next reallocation.
 */
async function breakerSnapshot(d: ActivityDeps, experimentId: string, control: string, cycle: number, p: DecidePayload): Promise<DecideResult['snapshot']> {
  const newly = p.newlyStopped ?? [];
  if (!newly.length || p.outcome !== 'continue') return undefined;
  const stopped = Object.keys(p.stoppedArms ?? {});
  const snapshot = await saveSnapshot(d.prisma, d.redis, experimentId, { cycle, step: 'breaker' }, (version, latest) => {
    if (!latest) throw new Error('no snapshot to route stopped arms in');
    return {
      ...latest,
      version,
      cycle,
      segments: latest.segments.map((s) => ({ ...s, weights: routeStoppedArms(s.weights, stopped, control) })),
      reason: `circuit breaker: ${newly.map((a) => p.stoppedArms?.[a]?.reason ?? a).join('; ')}`,
      createdAt: (d.now ?? (() => new Date()))().toISOString(),
    };
  });
  return { version: snapshot.version, weights: Object.fromEntries(snapshot.segments.map((s) => [String(s.id), s.weights])) };
}

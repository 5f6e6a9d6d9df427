/**
 * Step 6: the decision, by the experiment's decision policy (domain/decision): readiness, the
 * sample-ratio hold, the per-arm circuit breaker, the method's evidence, practical significance,
 * the horizon; then segment-level conclusions (always-valid, Holm across every segment × arm ever
 * tested, starved arms ended on the posterior, guardrails blocking a segment's ship). An arm stopped
 * at this look is routed to control in a snapshot written here, in the same cycle. One Decision row
 * per cycle.
 */
import {
  applyBranching,
  decideExperiment,
  resolvePolicy,
  segmentArmKey,
  segmentGuardrailBlocks,
  segmentLevelDecisions,
  servingForConcludedSegments,
  type ExperimentDecision,
  type SegmentArmDecision,
  type SrmAcknowledgement,
} from '../domain/decision/index.js';
import { routeStoppedArms, type WeightAction } from '../domain/decision/arm-weights.js';
import type { FixedHorizonPlan } from '../domain/decision/fixed-horizon.js';
import { sampleRatioInputs } from '../domain/experiment/cells.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { checkSampleRatio, type SampleRatioCheck } from '../domain/stats/srm.js';
import type { AllocationSnapshot, Weights } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { parseSnapshot, saveSnapshot } from '../infra/snapshot-writer.js';
import { toJsonSafe } from '../domain/json-safe.js';
import type { CollectPayload } from './collect.js';
import { readPreviousStep, readStep, writeStepOnce } from './cycle-store.js';
import { collectPayloadSchema, decidePayloadSchema, segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import type { SegmentPayload } from './segment.js';

/** An arm the circuit breaker (or the harm rule) stopped, carried from look to look. */
export interface StoppedArm {
  cycle: number;
  rule: 'guardrail' | 'harm';
  reason: string;
}

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
    const { config } = exp.def;
    const policy = resolvePolicy(config.decision);
    const variants = exp.def.variants.map((v) => v.key);
    const control = controlVariant(exp.def);
    const primary = config.metrics.find((m) => m.role === 'primary');
    if (!primary) throw new Error('no primary metric');
    const previous = (await readPreviousStep(stepRef, 'decide', decidePayloadSchema))?.payload;
    const actions = await d.prisma.operatorAction.findMany({ where: { experimentId: exp.id }, orderBy: { at: 'asc' } });

    // Operator actions: a re-enable lifts the stop it follows and exempts the arm from the breaker;
    // an acknowledgement lifts the hold of the alarm in force when it was given.
    const stopped: Record<string, StoppedArm> = { ...(previous?.stoppedArms ?? {}) };
    const exempt = new Set(previous?.exemptArms ?? []);
    for (const a of actions.filter((x) => x.kind === 'arm.reenable' && x.arm)) {
      const arm = a.arm as string;
      const stop = stopped[arm];
      if (stop && a.cycle >= stop.cycle) delete stopped[arm];
      exempt.add(arm);
    }
    const srm = await sampleRatioCheck(d, exp.id, collected, primary.key, variants, control);
    const alarmSince = srm.alarm ? (previous?.srmAlarmSince ?? cycle) : null;
    const ackRow = alarmSince === null ? undefined : actions.filter((x) => x.kind === 'srm.acknowledge' && x.cycle >= alarmSince).at(-1);
    const acknowledged: SrmAcknowledgement | null = ackRow ? { actor: ackRow.actor, reason: ackRow.reason } : null;

    const decision = decideExperiment({
      metrics: config.metrics,
      cells: collected.cells,
      control,
      variants,
      alpha: config.alpha,
      tuningN: config.sequentialTuningN,
      minSamplePerArm: config.minSamplePerArm,
      maxSamplePerArm: config.maxSamplePerArm,
      look: cycle,
      policy,
      mde: config.mde,
      startedAt: exp.createdAt.getTime(),
      now: (d.now ?? (() => new Date()))().getTime(),
      srm,
      srmAcknowledged: acknowledged,
      stoppedArms: Object.keys(stopped),
      exemptArms: [...exempt],
      plan: previous?.plan ?? null,
      weightActions: config.policy.kind === 'fixed',
    });
    let { outcome, rationale } = decision;
    let winner = decision.winner ?? null;
    for (const s of decision.stopArms) stopped[s.arm] = { cycle, rule: s.rule, reason: s.reason };

    if (segmented.enabled && segmented.segments.length > 1) {
      const terminated = await d.prisma.segment.findMany({ where: { experimentId: exp.id, status: 'terminated' }, select: { segmentId: true } });
      ({ outcome, winner, rationale } = applyBranching({
        outcome,
        winner,
        rationale,
        segments: segmented.segments.map((s) => s.id),
        settled: servingForConcludedSegments(previous?.segmentDecisions ?? [], control),
        terminated: new Set(terminated.map((t) => t.segmentId)),
        control,
      }));
    }
    // Once tested, a segment × arm stays in the family, so a cycle with fewer segments still runs it.
    const tested = Object.keys(previous?.segmentPMin ?? {}).length > 0;
    let segmentDecisions: SegmentArmDecision[] = [];
    let segmentState: { pMin: Record<string, number>; tau: Record<string, number>; ended: Record<string, string> } = { pMin: {}, tau: {}, ended: {} };
    if (segmented.enabled && (segmented.segments.length > 1 || tested)) {
      // One segment is the whole experiment (judged by the experiment rule): only carried keys then.
      const segments = segmented.segments.length > 1 ? segmented.segments.map((s) => s.id) : [];
      const estimate: Record<string, number> = {};
      for (const e of previous?.segmentDecisions ?? []) if (Number.isFinite(e.estimate)) estimate[segmentArmKey(e.segmentId, e.arm)] = e.estimate;
      const result = segmentLevelDecisions({
        cells: collected.cells,
        metric: primary,
        segments,
        variants,
        control,
        alpha: config.alpha,
        previous: { pMin: previous?.segmentPMin ?? {}, tau: previous?.segmentTau ?? {}, estimate, ended: previous?.segmentEnded ?? {} },
        endArm: { belowChanceToWin: policy.segments.endArmBelowChanceToWin, maxExpectedLoss: policy.segments.endArmMaxExpectedLoss, minSample: policy.segments.endArmMinSample },
        blocked: segmentGuardrailBlocks({ cells: collected.cells, metrics: config.metrics, segments, variants, control, alpha: config.alpha, stoppedArms: Object.keys(stopped) }),
      });
      segmentDecisions = result.decisions;
      segmentState = result.state;
    }
    const concluded = segmentDecisions.filter((s) => s.outcome !== 'none');
    if (concluded.length) rationale += ` Segments: ${concluded.map((s) => s.reason).join('; ')}.`;
    const before = new Set((previous?.segmentDecisions ?? []).filter((s) => s.outcome !== 'none').map((s) => `${s.segmentId}:${s.arm}:${s.outcome}`));
    const newSegmentConclusions = concluded.filter((s) => !before.has(`${s.segmentId}:${s.arm}:${s.outcome}`)).length;

    const row = await d.prisma.decision.upsert({
      where: { experimentId_cycle: { experimentId: exp.id, cycle } },
      create: {
        experimentId: exp.id,
        cycle,
        outcome,
        rationale,
        statistics: toJsonSafe({ policy: policy.preset, method: policy.method, arms: decision.arms, notes: decision.notes, stopArms: decision.stopArms, srm, srmHold: decision.srmHold, segments: segmentDecisions, plan: decision.plan }) as object,
      },
      update: {},
    });
    const payload: DecidePayload = {
      decisionId: row.id,
      outcome,
      winner,
      rationale,
      segmentDecisions,
      newSegmentConclusions,
      segmentPMin: segmentState.pMin,
      segmentTau: segmentState.tau,
      segmentEnded: segmentState.ended,
      srm,
      stoppedArms: stopped,
      newlyStopped: decision.stopArms.map((s) => s.arm),
      exemptArms: [...exempt],
      srmAlarmSince: alarmSince,
      srmHold: decision.srmHold,
      weightActions: decision.weightActions.map(({ arm, action }) => ({ arm, action })),
      plan: decision.plan,
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

/**
 * Expected counts come from the weights each unit was randomised with: its segment's weights in the
 * snapshot of its period, or — two-arm contextual experiments — its context leaf's treatment share
 * (the cell's propensity stratum).
 */
async function sampleRatioCheck(d: ActivityDeps, experimentId: string, collected: CollectPayload, metric: string, variants: string[], control: string) {
  const rows = await d.prisma.allocationSnapshot.findMany({ where: { experimentId }, select: { version: true, snapshot: true } });
  const byVersion = new Map(rows.map((r) => [r.version, parseSnapshot(r.snapshot, experimentId)]));
  const segmentWeights = (period: number, segment: number) => {
    const snap = byVersion.get(period);
    return (snap?.segments.find((s) => s.id === segment) ?? snap?.segments[0])?.weights;
  };
  return checkSampleRatio(sampleRatioInputs(collected.cells, metric, variants, control, segmentWeights));
}

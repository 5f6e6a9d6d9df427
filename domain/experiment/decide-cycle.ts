/**
 * One cycle's decision as a pure function of what the cycle saw: the collected cells, the cycle's
 * segments, the segments terminated by then, the snapshots the units were randomised under, the
 * operator actions taken by then, the previous look's carried state, and the time. The decide
 * activity calls it online; `expflow evaluate --replay` calls it offline on the logged data, cycle
 * by cycle, and must reach the same decision.
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
} from '../decision/index.js';
import type { FixedHorizonPlan } from '../decision/fixed-horizon.js';
import { checkSampleRatio, type SampleRatioCheck } from '../stats/srm.js';
import type { AllocationSnapshot, CellStats } from '../types.js';
import { sampleRatioInputs } from './cells.js';
import { controlVariant, type ExperimentDefinition } from './snapshot.js';

/** An arm the circuit breaker (or the harm rule) stopped, carried from look to look. */
export interface StoppedArm {
  cycle: number;
  rule: 'guardrail' | 'harm';
  reason: string;
}

/** What one look hands to the next (stored in the decide step's payload). */
export interface CycleDecisionState {
  segmentDecisions: SegmentArmDecision[];
  /** Running minimum of each segment × arm always-valid p-value; every key ever tested stays. */
  segmentPMin: Record<string, number>;
  /** Mixture sd of each segment × arm's mSPRT, fixed at the key's first look. */
  segmentTau?: Record<string, number>;
  /** Segment × arm keys ended on the posterior (starved arms), with their reasons. */
  segmentEnded?: Record<string, string>;
  /** Arms stopped so far (routed to control), by arm. */
  stoppedArms?: Record<string, StoppedArm>;
  /** Arms an operator re-enabled: the breaker leaves them alone. */
  exemptArms?: string[];
  /** The look whose sample-ratio alarm is in force (null: no alarm). */
  srmAlarmSince?: number | null;
  plan?: FixedHorizonPlan | null;
}

/** An operator action as the decision reads it (OperatorAction rows). */
export interface CycleOperatorAction {
  kind: string;
  arm: string | null;
  actor: string;
  reason: string;
  /** The workflow's last completed cycle when the action was taken. */
  cycle: number;
}

export interface DecideCycleInput {
  def: Pick<ExperimentDefinition, 'variants' | 'config'>;
  cycle: number;
  cells: CellStats[];
  /** The cycle's segmentation: whether it is on and the segment ids it produced. */
  segments: { enabled: boolean; ids: number[] };
  /** Segments terminated by the throttle step of this cycle (or earlier). */
  terminated: ReadonlySet<number>;
  /** Snapshots by version: the weights each unit was randomised with, for the sample-ratio check. */
  snapshots: ReadonlyMap<number, AllocationSnapshot>;
  previous: CycleDecisionState | undefined;
  /** Operator actions taken by the time of the decision, oldest first. */
  actions: readonly CycleOperatorAction[];
  /** Epoch ms: when the experiment started, and the decision's time. */
  startedAt: number;
  now: number;
}

export interface CycleDecision extends Required<Omit<CycleDecisionState, 'plan'>> {
  outcome: ExperimentDecision['outcome'];
  winner: string | null;
  rationale: string;
  decision: ExperimentDecision;
  policy: ReturnType<typeof resolvePolicy>;
  /** Segment × arm conclusions first reached at this look. */
  newSegmentConclusions: number;
  srm: SampleRatioCheck;
}

/** Decides one cycle: the experiment's decision policy, branching by segment, the segment-level rule. */
export function decideCycle(input: DecideCycleInput): CycleDecision {
  const { config } = input.def;
  const { cells, previous, cycle } = input;
  const policy = resolvePolicy(config.decision);
  const variants = input.def.variants.map((v) => v.key);
  const control = controlVariant(input.def);
  const primary = config.metrics.find((m) => m.role === 'primary');
  if (!primary) throw new Error('no primary metric');

  // Operator actions: a re-enable lifts the stop it follows and exempts the arm from the breaker;
  // an acknowledgement lifts the hold of the alarm in force when it was given.
  const stopped: Record<string, StoppedArm> = { ...(previous?.stoppedArms ?? {}) };
  const exempt = new Set(previous?.exemptArms ?? []);
  for (const a of input.actions.filter((x) => x.kind === 'arm.reenable' && x.arm)) {
    const arm = a.arm as string;
    const stop = stopped[arm];
    if (stop && a.cycle >= stop.cycle) delete stopped[arm];
    exempt.add(arm);
  }
  // Expected counts come from the weights each unit was randomised with: its segment's weights in
  // the snapshot of its period, or — two-arm contextual experiments — its leaf's treatment share.
  const srm = checkSampleRatio(
    sampleRatioInputs(cells, primary.key, variants, control, (period, segment) => {
      const snap = input.snapshots.get(period);
      return (snap?.segments.find((s) => s.id === segment) ?? snap?.segments[0])?.weights;
    }),
  );
  const alarmSince = srm.alarm ? (previous?.srmAlarmSince ?? cycle) : null;
  const ackRow = alarmSince === null ? undefined : input.actions.filter((x) => x.kind === 'srm.acknowledge' && x.cycle >= alarmSince).at(-1);
  const acknowledged: SrmAcknowledgement | null = ackRow ? { actor: ackRow.actor, reason: ackRow.reason } : null;

  const decision = decideExperiment({
    metrics: config.metrics,
    cells,
    control,
    variants,
    alpha: config.alpha,
    tuningN: config.sequentialTuningN,
    minSamplePerArm: config.minSamplePerArm,
    maxSamplePerArm: config.maxSamplePerArm,
    look: cycle,
    policy,
    mde: config.mde,
    startedAt: input.startedAt,
    now: input.now,
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

  const segmented = input.segments;
  if (segmented.enabled && segmented.ids.length > 1) {
    ({ outcome, winner, rationale } = applyBranching({
      outcome,
      winner,
      rationale,
      segments: segmented.ids,
      settled: servingForConcludedSegments(previous?.segmentDecisions ?? [], control),
      terminated: new Set(input.terminated),
      control,
    }));
  }
  // Once tested, a segment × arm stays in the family, so a cycle with fewer segments still runs it.
  const tested = Object.keys(previous?.segmentPMin ?? {}).length > 0;
  let segmentDecisions: SegmentArmDecision[] = [];
  let segmentState: { pMin: Record<string, number>; tau: Record<string, number>; ended: Record<string, string> } = { pMin: {}, tau: {}, ended: {} };
  if (segmented.enabled && (segmented.ids.length > 1 || tested)) {
    // One segment is the whole experiment (judged by the experiment rule): only carried keys then.
    const segments = segmented.ids.length > 1 ? segmented.ids : [];
    const estimate: Record<string, number> = {};
    for (const e of previous?.segmentDecisions ?? []) if (Number.isFinite(e.estimate)) estimate[segmentArmKey(e.segmentId, e.arm)] = e.estimate;
    const result = segmentLevelDecisions({
      cells,
      metric: primary,
      segments,
      variants,
      control,
      alpha: config.alpha,
      previous: { pMin: previous?.segmentPMin ?? {}, tau: previous?.segmentTau ?? {}, estimate, ended: previous?.segmentEnded ?? {} },
      endArm: { belowChanceToWin: policy.segments.endArmBelowChanceToWin, maxExpectedLoss: policy.segments.endArmMaxExpectedLoss, minSample: policy.segments.endArmMinSample },
      blocked: segmentGuardrailBlocks({ cells, metrics: config.metrics, segments, variants, control, alpha: config.alpha, stoppedArms: Object.keys(stopped) }),
    });
    segmentDecisions = result.decisions;
    segmentState = result.state;
  }
  const concluded = segmentDecisions.filter((s) => s.outcome !== 'none');
  if (concluded.length) rationale += ` Segments: ${concluded.map((s) => s.reason).join('; ')}.`;
  const before = new Set((previous?.segmentDecisions ?? []).filter((s) => s.outcome !== 'none').map((s) => `${s.segmentId}:${s.arm}:${s.outcome}`));
  const newSegmentConclusions = concluded.filter((s) => !before.has(`${s.segmentId}:${s.arm}:${s.outcome}`)).length;
  return {
    outcome,
    winner,
    rationale,
    decision,
    policy,
    segmentDecisions,
    segmentPMin: segmentState.pMin,
    segmentTau: segmentState.tau,
    segmentEnded: segmentState.ended,
    stoppedArms: stopped,
    exemptArms: [...exempt],
    srmAlarmSince: alarmSince,
    newSegmentConclusions,
    srm,
  };
}

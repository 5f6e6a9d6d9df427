/**
 * One cycle's decision as a pure function of what the cycle saw: the collected cells, the cycle's
 * segments, the segments terminated by then, the snapshots the units were randomised under, and the
 * previous cycle's segment-level state. The decide activity calls it online; `expflow evaluate
 * --replay` calls it offline on the logged data, cycle by cycle, and must reach the same decision.
 */
import { decideExperiment, type ExperimentDecision } from '../decision/index.js';
import { type SegmentArmDecision } from '../segment-rules/segment-decisions.js';
import { segmentArmKey, segmentLevelDecisions } from '../segment-rules/segment-evidence.js';
import { checkSampleRatio, type SampleRatioCheck } from '../stats/srm.js';
import type { AllocationSnapshot, CellStats } from '../types.js';
import { sampleRatioInputs } from './cells.js';
import { applyBranching, servingForConcludedSegments } from './segment-conclusions.js';
import { controlVariant, type ExperimentDefinition } from './snapshot.js';

/** The segment-level state one cycle hands to the next (stored in the decide step's payload). */
export interface CycleDecisionState {
  segmentDecisions: SegmentArmDecision[];
  /** Running minimum of each segment × arm always-valid p-value; every key ever tested stays. */
  segmentPMin: Record<string, number>;
  /** Mixture sd of each segment × arm's mSPRT, fixed at the key's first look. */
  segmentTau?: Record<string, number>;
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
}

export interface CycleDecision extends CycleDecisionState {
  outcome: ExperimentDecision['outcome'];
  winner: string | null;
  rationale: string;
  arms: ExperimentDecision['arms'];
  /** Segment × arm conclusions first reached at this look. */
  newSegmentConclusions: number;
  srm: SampleRatioCheck;
}

/** Decides one cycle: experiment rule, sample-ratio veto, branching by segment, segment-level rule. */
export function decideCycle(input: DecideCycleInput): CycleDecision {
  const { config } = input.def;
  const variants = input.def.variants.map((v) => v.key);
  const control = controlVariant(input.def);
  const primary = config.metrics.find((m) => m.role === 'primary')!;
  const { cells, previous } = input;

  const srm = checkSampleRatio(
    sampleRatioInputs(cells, primary.key, variants, control, (period, segment) => {
      const snap = input.snapshots.get(period);
      return (snap?.segments.find((s) => s.id === segment) ?? snap?.segments[0])?.weights;
    }),
  );
  const decision = decideExperiment({
    metrics: config.metrics,
    cells,
    control,
    variants,
    alpha: config.alpha,
    tuningN: config.sequentialTuningN,
    minSamplePerArm: config.minSamplePerArm,
    maxSamplePerArm: config.maxSamplePerArm,
    look: input.cycle,
  });
  let { outcome, rationale } = decision;
  let winner = decision.winner ?? null;
  // A sample-ratio mismatch means the data cannot be trusted: never ship on it.
  if (srm.alarm && outcome === 'ship') {
    outcome = 'continue';
    winner = null;
    rationale = `sample-ratio mismatch (p=${srm.pValue.toExponential(2)} < ${srm.threshold}); not shipping: ${rationale}`;
  }

  const segments = input.segments;
  if (segments.enabled && segments.ids.length > 1) {
    ({ outcome, winner, rationale } = applyBranching({
      outcome,
      winner,
      rationale,
      segments: segments.ids,
      settled: servingForConcludedSegments(previous?.segmentDecisions ?? [], control),
      terminated: new Set(input.terminated),
      control,
    }));
  }
  // Once tested, a segment × arm stays in the family, so a cycle with fewer segments still runs it.
  const tested = Object.keys(previous?.segmentPMin ?? {}).length > 0;
  let segmentDecisions: SegmentArmDecision[] = [];
  let state: { pMin: Record<string, number>; tau: Record<string, number> } = { pMin: {}, tau: {} };
  if (segments.enabled && (segments.ids.length > 1 || tested)) {
    const estimate: Record<string, number> = {};
    for (const e of previous?.segmentDecisions ?? []) if (Number.isFinite(e.estimate)) estimate[segmentArmKey(e.segmentId, e.arm)] = e.estimate;
    ({ decisions: segmentDecisions, state } = segmentLevelDecisions({
      cells,
      metric: primary,
      // One segment is the whole experiment (judged by the experiment rule): only carried keys then.
      segments: segments.ids.length > 1 ? segments.ids : [],
      variants,
      control,
      alpha: config.alpha,
      previous: { pMin: previous?.segmentPMin ?? {}, tau: previous?.segmentTau ?? {}, estimate },
    }));
  }
  const concluded = segmentDecisions.filter((s) => s.outcome !== 'none');
  if (concluded.length) rationale += ` Segments: ${concluded.map((s) => s.reason).join('; ')}.`;
  const before = new Set((previous?.segmentDecisions ?? []).filter((s) => s.outcome !== 'none').map((s) => `${s.segmentId}:${s.arm}:${s.outcome}`));
  const newSegmentConclusions = concluded.filter((s) => !before.has(`${s.segmentId}:${s.arm}:${s.outcome}`)).length;
  return { outcome, winner, rationale, arms: decision.arms, segmentDecisions, segmentPMin: state.pMin, segmentTau: state.tau, newSegmentConclusions, srm };
}

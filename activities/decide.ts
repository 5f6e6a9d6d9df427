/**
 * Step 6: the decision. Always-valid (sequential) analysis of every arm against control on the
 * primary and guardrail metrics, period-stratified so adaptive allocation does not bias it, Holm
 * across arms × metrics; segment-level conclusions, stratified the same way within each segment,
 * with Holm across every segment × arm ever tested; and a sample-ratio check against the weights
 * each unit was randomised with. One Decision row per cycle.
 */
import { decideExperiment, type ExperimentDecision } from '../domain/decision/index.js';
import { sampleRatioInputs } from '../domain/experiment/cells.js';
import { applyBranching, servingForConcludedSegments } from '../domain/experiment/segment-conclusions.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { type SegmentArmDecision } from '../domain/segment-rules/segment-decisions.js';
import { segmentArmKey, segmentLevelDecisions } from '../domain/segment-rules/segment-evidence.js';
import { checkSampleRatio, type SampleRatioCheck } from '../domain/stats/srm.js';
import { toJsonSafe } from '../domain/json-safe.js';
import type { MetricSpec } from '../domain/types.js';
import { parseSnapshot } from '../infra/snapshot-writer.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CollectPayload } from './collect.js';
import { readPreviousStep, readStep, writeStepOnce } from './cycle-store.js';
import { collectPayloadSchema, decidePayloadSchema, segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import type { SegmentPayload } from './segment.js';

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
  srm: SampleRatioCheck;
}

export interface DecideResult {
  outcome: ExperimentDecision['outcome'];
  winner: string | null;
  rationale: string;
  /** Segment-level conclusions new at this look. */
  segmentConclusions: number;
}

export function decide(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<DecideResult> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const summary = (p: DecidePayload): DecideResult => ({
      outcome: p.outcome,
      winner: p.winner,
      rationale: p.rationale,
      segmentConclusions: p.newSegmentConclusions,
    });
    const done = await readStep(stepRef, 'decide', decidePayloadSchema);
    if (done) return summary(done);
    const collected = await readStep(stepRef, 'collect', collectPayloadSchema);
    const segmented = await readStep(stepRef, 'segment', segmentPayloadSchema);
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before decide`);
    const { config } = exp.def;
    const variants = exp.def.variants.map((v) => v.key);
    const control = controlVariant(exp.def);
    const primary = config.metrics.find((m) => m.role === 'primary')!;

    const srm = await sampleRatioCheck(d, exp.id, collected, primary.key, variants, control);
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
    });
    let { outcome, rationale } = decision;
    let winner = decision.winner ?? null;
    // A sample-ratio mismatch means the data cannot be trusted: never ship on it.
    if (srm.alarm && outcome === 'ship') {
      outcome = 'continue';
      winner = null;
      rationale = `sample-ratio mismatch (p=${srm.pValue.toExponential(2)} < ${srm.threshold}); not shipping: ${rationale}`;
    }

    const previous = (await readPreviousStep(stepRef, 'decide', decidePayloadSchema))?.payload;
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
    const { decisions: segmentDecisions, state } =
      segmented.enabled && (segmented.segments.length > 1 || tested)
        ? segmentLevel(collected, segmented, primary, variants, control, config.alpha, previous)
        : { decisions: [], state: { pMin: {}, tau: {} } };
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
        statistics: toJsonSafe({ arms: decision.arms, srm, segments: segmentDecisions }) as object,
      },
      update: {},
    });
    const payload: DecidePayload = { decisionId: row.id, outcome, winner, rationale, segmentDecisions, newSegmentConclusions, segmentPMin: state.pMin, segmentTau: state.tau, srm };
    return summary(await writeStepOnce(stepRef, 'decide', decidePayloadSchema, payload));
  };
}

/**
 * Per segment × arm always-valid p-values (running minimum across looks), corrected by Holm across
 * every key ever tested: stratified effects, τ fixed per key at its first look (see
 * domain/segment-rules/segment-evidence.ts).
 */
function segmentLevel(
  collected: CollectPayload,
  segmented: SegmentPayload,
  metric: MetricSpec,
  variants: string[],
  control: string,
  alpha: number,
  previous: DecidePayload | undefined,
) {
  const estimate: Record<string, number> = {};
  for (const e of previous?.segmentDecisions ?? []) if (Number.isFinite(e.estimate)) estimate[segmentArmKey(e.segmentId, e.arm)] = e.estimate;
  return segmentLevelDecisions({
    cells: collected.cells,
    metric,
    // One segment is the whole experiment (judged by the experiment rule): only carried keys then.
    segments: segmented.segments.length > 1 ? segmented.segments.map((s) => s.id) : [],
    variants,
    control,
    alpha,
    previous: { pMin: previous?.segmentPMin ?? {}, tau: previous?.segmentTau ?? {}, estimate },
  });
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

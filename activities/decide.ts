/**
 * Step 6: the decision. Always-valid (sequential) analysis of every arm against control on the
 * primary and guardrail metrics, period-stratified so adaptive allocation does not bias it, Holm
 * across arms × metrics; segment-level conclusions with a correction across segments × arms; and a
 * sample-ratio check against the weights in force over time. One Decision row per cycle.
 */
import { decideExperiment, type ExperimentDecision } from '../domain/decision/index.js';
import { poolByVariant, unitsByPeriodSegment } from '../domain/experiment/cells.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { mixtureSequentialInterval } from '../domain/segment-rules/always-valid.js';
import { decideSegmentArms, type SegmentArmDecision } from '../domain/segment-rules/segment-decisions.js';
import { checkSampleRatio, type SampleRatioCheck } from '../domain/stats/srm.js';
import type { AllocationSnapshot } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CollectPayload } from './collect.js';
import { readPreviousStep, readStep, writeStepOnce } from './cycle-store.js';
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
  /** Running minimum of each segment × arm always-valid p-value, carried to the next look. */
  segmentPMin: Record<string, number>;
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
    const summary = (p: DecidePayload): DecideResult => ({
      outcome: p.outcome,
      winner: p.winner,
      rationale: p.rationale,
      segmentConclusions: p.newSegmentConclusions,
    });
    const done = await readStep<DecidePayload>(d.prisma, exp.id, cycle, 'decide');
    if (done) return summary(done);
    const collected = await readStep<CollectPayload>(d.prisma, exp.id, cycle, 'collect');
    const segmented = await readStep<SegmentPayload>(d.prisma, exp.id, cycle, 'segment');
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before decide`);
    const { config } = exp.def;
    const variants = exp.def.variants.map((v) => v.key);
    const control = controlVariant(exp.def);
    const primary = config.metrics.find((m) => m.role === 'primary')!;

    const srm = await sampleRatioCheck(d, exp.id, collected, primary.key, variants);
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

    const previous = (await readPreviousStep<DecidePayload>(d.prisma, exp.id, cycle, 'decide'))?.payload;
    const { decisions: segmentDecisions, pMin } =
      segmented.enabled && segmented.segments.length > 1
        ? segmentLevel(collected, segmented, primary.key, variants, control, config.alpha, primary.direction, previous?.segmentPMin ?? {})
        : { decisions: [], pMin: {} };
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
        statistics: jsonSafe({ arms: decision.arms, srm, segments: segmentDecisions }) as object,
      },
      update: {},
    });
    const payload: DecidePayload = { decisionId: row.id, outcome, winner, rationale, segmentDecisions, newSegmentConclusions, segmentPMin: pMin, srm };
    return summary(await writeStepOnce(d.prisma, exp.id, cycle, 'decide', jsonSafe(payload) as DecidePayload));
  };
}

/** Per segment × arm always-valid p-values (running minimum across looks), corrected by Holm. */
function segmentLevel(
  collected: CollectPayload,
  segmented: SegmentPayload,
  metric: string,
  variants: string[],
  control: string,
  alpha: number,
  direction: 'increase' | 'decrease',
  previousPMin: Record<string, number>,
) {
  const evidence = [];
  const pMin: Record<string, number> = {};
  for (const s of segmented.segments) {
    const arms = poolByVariant(collected.cells, metric, variants, s.id);
    const c = arms[control]!;
    const scale = c.n > 0 ? Math.abs(c.sum / c.n) : 0;
    for (const arm of variants) {
      if (arm === control) continue;
      const iv = mixtureSequentialInterval(c, arms[arm]!, alpha, Math.max(0.1 * scale, 1e-9));
      const key = `${s.id}:${arm}`;
      const p = Math.min(previousPMin[key] ?? 1, Number.isFinite(iv.pValue) ? iv.pValue : 1);
      pMin[key] = p;
      evidence.push({ segmentId: s.id, arm, estimate: Number.isFinite(iv.estimate) ? iv.estimate : 0, pValue: p });
    }
  }
  return { decisions: decideSegmentArms(evidence, { alpha, method: 'holm', direction }), pMin };
}

/** Expected counts come from the weights of the snapshot each unit was randomised under. */
async function sampleRatioCheck(d: ActivityDeps, experimentId: string, collected: CollectPayload, metric: string, variants: string[]) {
  const rows = await d.prisma.allocationSnapshot.findMany({ where: { experimentId }, select: { version: true, snapshot: true } });
  const byVersion = new Map(rows.map((r) => [r.version, r.snapshot as unknown as AllocationSnapshot]));
  const observed = variants.map(() => 0);
  const periods = [];
  for (const [key, counts] of unitsByPeriodSegment(collected.cells, metric)) {
    const [period, segment] = key.split(':').map(Number) as [number, number];
    const seg = byVersion.get(period)?.segments.find((s) => s.id === segment) ?? byVersion.get(period)?.segments[0];
    const n = variants.reduce((a, v) => a + (counts[v] ?? 0), 0);
    variants.forEach((v, i) => (observed[i]! += counts[v] ?? 0));
    if (seg) periods.push({ weights: variants.map((v) => seg.weights[v] ?? 0), n });
  }
  return checkSampleRatio({ periods, observed });
}

/** Replaces NaN and ±Infinity with null so the payload survives JSON columns and Temporal. */
function jsonSafe(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

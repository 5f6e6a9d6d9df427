/**
 * Step 6: the decision. Always-valid (sequential) analysis of every arm against control on the
 * primary and guardrail metrics, period-stratified so adaptive allocation does not bias it, Holm
 * across arms × metrics; segment-level conclusions, stratified the same way within each segment,
 * with Holm across every segment × arm ever tested; and a sample-ratio check against the weights
 * each unit was randomised with. One Decision row per cycle.
 */
import { decideCycle, type CycleDecision } from '../domain/experiment/decide-cycle.js';
import { type SegmentArmDecision } from '../domain/segment-rules/segment-decisions.js';
import { type SampleRatioCheck } from '../domain/stats/srm.js';
import type { AllocationSnapshot } from '../domain/types.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CollectPayload } from './collect.js';
import { readPreviousStep, readStep, writeStepOnce } from './cycle-store.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import type { SegmentPayload } from './segment.js';

export interface DecidePayload {
  decisionId: string;
  outcome: CycleDecision['outcome'];
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
  outcome: CycleDecision['outcome'];
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
    const previous = (await readPreviousStep<DecidePayload>(d.prisma, exp.id, cycle, 'decide'))?.payload;
    const terminated = await d.prisma.segment.findMany({ where: { experimentId: exp.id, status: 'terminated' }, select: { segmentId: true } });
    const snapshots = await d.prisma.allocationSnapshot.findMany({ where: { experimentId: exp.id }, select: { version: true, snapshot: true } });
    const decided = decideCycle({
      def: exp.def,
      cycle,
      cells: collected.cells,
      segments: { enabled: segmented.enabled, ids: segmented.segments.map((s) => s.id) },
      terminated: new Set(terminated.map((t) => t.segmentId)),
      snapshots: new Map(snapshots.map((r) => [r.version, r.snapshot as unknown as AllocationSnapshot])),
      previous,
    });
    const { outcome, winner, rationale, segmentDecisions, newSegmentConclusions, srm } = decided;

    const row = await d.prisma.decision.upsert({
      where: { experimentId_cycle: { experimentId: exp.id, cycle } },
      create: {
        experimentId: exp.id,
        cycle,
        outcome,
        rationale,
        statistics: jsonSafe({ arms: decided.arms, srm, segments: segmentDecisions }) as object,
      },
      update: {},
    });
    const payload: DecidePayload = { decisionId: row.id, outcome, winner, rationale, segmentDecisions, newSegmentConclusions, segmentPMin: decided.segmentPMin, segmentTau: decided.segmentTau, srm };
    return summary(await writeStepOnce(d.prisma, exp.id, cycle, 'decide', jsonSafe(payload) as DecidePayload));
  };
}

/** Replaces NaN and ±Infinity with null so the payload survives JSON columns and Temporal. */
function jsonSafe(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

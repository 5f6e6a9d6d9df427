/**
 * GET /experiments/:key/report as a pure function of loaded rows: estimates over time (per cycle as
 * each decision saw them, per day of exposure and cumulative), per arm and per segment; the
 * allocation timeline with its reasons; every decision with its rationale; guardrails and the
 * sample-ratio check with per-period expected counts; the context-factor breakdown; predicted
 * against realised time to significance. No statistics are computed here that the decision step
 * does not compute itself.
 */
import type { ArmMetricResult, DecisionOutcome } from '../decision/types.js';
import type { SampleRatioCheck } from '../stats/srm.js';
import type { ExperimentPhase, MetricSpec, Weights } from '../types.js';
import { allocationHistory, type AllocationChange, type AuditRow, type SnapshotRow } from './allocation-history.js';
import { breakdownByFactor, type FactorBreakdown, type FactorCell } from './breakdown.js';
import { estimatesOverTime, type DatedCell, type DayEstimate } from './estimates.js';
import { sampleRatioReport, type SampleRatioReport } from './sample-ratio.js';
import { timeToSignificance, type SegmentTimeToSignificance, type StoredPrediction } from './time-to-significance.js';

export interface DecisionRow {
  cycle: number;
  outcome: string;
  rationale: string;
  createdAt: string;
  statistics: {
    arms?: ArmMetricResult[];
    srm?: SampleRatioCheck;
    segments?: Array<{ segmentId: number; arm: string; outcome: string; estimate: number; pValue: number; adjustedPValue: number; reason: string }>;
  };
}

export interface AlertRow {
  kind: string;
  subject: string;
  severity: string;
  message: string;
  firedAt: string;
  resolvedAt: string | null;
}

export interface ExperimentReportInput {
  experiment: {
    key: string;
    name: string;
    kind: string;
    status: ExperimentPhase;
    owner: string;
    hypothesis: string;
    createdAt: string;
    metrics: MetricSpec[];
    alpha: number;
    tuningN?: number;
    variants: Array<{ key: string; isControl: boolean }>;
  };
  workflowUrl: string | null;
  /** Current cells by day of first exposure (SQL aggregate over every unit). */
  dailyCells: DatedCell[];
  factorCells: FactorCell[];
  /** Factors whose values were too many to break down (e.g. a per-user attribute). */
  skippedFactors: string[];
  snapshots: SnapshotRow[];
  audit: AuditRow[];
  decisions: DecisionRow[];
  predictions: StoredPrediction[];
  alerts: AlertRow[];
  now: string;
}

export interface CycleEstimate {
  cycle: number;
  at: string;
  outcome: string;
  arms: ArmMetricResult[];
}

export interface ExperimentReport {
  generatedAt: string;
  experiment: ExperimentReportInput['experiment'] & { control: string; workflowUrl: string | null };
  /** Per cycle: what each decision saw (always-valid, Holm-adjusted), the experiment as a whole. */
  byCycle: CycleEstimate[];
  overall: { daily: DayEstimate[]; cumulative: DayEstimate[] };
  segments: Array<{
    id: number;
    units: number;
    daily: DayEstimate[];
    cumulative: DayEstimate[];
    /** Segment-level conclusions per cycle (running-minimum always-valid p, Holm across segments × arms). */
    decisions: Array<{ cycle: number; arm: string; outcome: string; estimate: number; pValue: number; adjustedPValue: number; reason: string }>;
    latest: { status: string; coverage: number; weights: Weights } | null;
  }>;
  allocation: AllocationChange[];
  decisions: Array<{ cycle: number; at: string; outcome: DecisionOutcome | string; rationale: string; srmAlarm: boolean }>;
  guardrails: Array<{ cycle: number; results: ArmMetricResult[] }>;
  srm: { current: SampleRatioReport; byCycle: Array<{ cycle: number; pValue: number; alarm: boolean }> };
  breakdown: { factors: FactorBreakdown[]; skipped: string[] };
  timeToSignificance: SegmentTimeToSignificance[];
  alerts: AlertRow[];
}

export function buildExperimentReport(input: ExperimentReportInput): ExperimentReport {
  const { experiment } = input;
  const control = experiment.variants.find((v) => v.isControl)?.key ?? experiment.variants[0]?.key ?? '';
  const variants = experiment.variants.map((v) => v.key);
  const primary = experiment.metrics.find((m) => m.role === 'primary') ?? experiment.metrics[0];
  const opts = { metrics: experiment.metrics, control, variants, alpha: experiment.alpha, tuningN: experiment.tuningN };
  const decisions = [...input.decisions].sort((a, b) => a.cycle - b.cycle);

  const snapshotByVersion = new Map(input.snapshots.map((s) => [s.version, s.snapshot]));
  const segmentWeights = (period: number, segment: number) => {
    const snap = snapshotByVersion.get(period);
    return (snap?.segments.find((s) => s.id === segment) ?? snap?.segments[0])?.weights;
  };
  const latestSnapshot = [...input.snapshots].sort((a, b) => b.version - a.version)[0]?.snapshot;
  const segmentIds = new Set<number>([...input.dailyCells.map((c) => c.segment), ...(latestSnapshot?.segments.map((s) => s.id) ?? [])]);

  return {
    generatedAt: input.now,
    experiment: { ...experiment, control, workflowUrl: input.workflowUrl },
    byCycle: decisions.map((d) => ({ cycle: d.cycle, at: d.createdAt, outcome: d.outcome, arms: d.statistics.arms ?? [] })),
    overall: estimatesOverTime(input.dailyCells, opts),
    segments: [...segmentIds].sort((a, b) => a - b).map((id) => {
      const own = input.dailyCells.filter((c) => c.segment === id);
      const latest = latestSnapshot?.segments.find((s) => s.id === id);
      return {
        id,
        units: own.reduce((a, c) => a + (c.metric === primary?.key ? c.moments.n : 0), 0),
        ...estimatesOverTime(own, opts),
        decisions: decisions.flatMap((d) =>
          (d.statistics.segments ?? []).filter((s) => s.segmentId === id).map((s) => ({ cycle: d.cycle, arm: s.arm, outcome: s.outcome, estimate: s.estimate, pValue: s.pValue, adjustedPValue: s.adjustedPValue, reason: s.reason })),
        ),
        latest: latest ? { status: latest.status, coverage: latest.coverage, weights: latest.weights } : null,
      };
    }),
    allocation: allocationHistory(input.snapshots, input.audit),
    decisions: decisions.map((d) => ({ cycle: d.cycle, at: d.createdAt, outcome: d.outcome, rationale: d.rationale, srmAlarm: d.statistics.srm?.alarm === true })),
    guardrails: decisions.map((d) => ({ cycle: d.cycle, results: (d.statistics.arms ?? []).filter((a) => a.role === 'guardrail') })),
    srm: {
      current: sampleRatioReport(input.dailyCells, primary?.key ?? '', variants, control, segmentWeights),
      byCycle: decisions.flatMap((d) => (d.statistics.srm ? [{ cycle: d.cycle, pValue: d.statistics.srm.pValue, alarm: d.statistics.srm.alarm }] : [])),
    },
    breakdown: { factors: breakdownByFactor(input.factorCells, opts), skipped: input.skippedFactors },
    timeToSignificance: timeToSignificance(
      input.predictions,
      decisions.map((d) => ({ cycle: d.cycle, arms: d.statistics.arms ?? [], segments: d.statistics.segments ?? [] })),
    ),
    alerts: input.alerts,
  };
}

/** Shapes of the decision step's input and output. Everything is JSON-safe (no NaN/Infinity). */
import type { CellStats, MetricRole, MetricSpec } from '../types.js';

export type DecisionOutcome = 'continue' | 'ship' | 'stop_harm' | 'stop_futility' | 'inconclusive';

/** What the workflow's decide activity passes every cycle. */
export interface DecideExperimentInput {
  metrics: MetricSpec[];
  cells: CellStats[];
  control: string;
  variants: string[];
  alpha: number;
  /** N* of the confidence sequence (total units at which it is tightest); default 5000. */
  tuningN?: number;
  /** No decision before every arm has this many units on the primary metric. */
  minSamplePerArm?: number;
  /** Horizon: once every arm has this many units, a non-significant experiment ends. */
  maxSamplePerArm?: number;
  look: number;
}

/** One variant vs control on one metric, always-valid. */
export interface ArmMetricResult {
  arm: string;
  metric: string;
  role: MetricRole;
  direction: 'increase' | 'decrease';
  controlN: number;
  treatmentN: number;
  controlMean: number;
  treatmentMean: number;
  estimate: number;
  ci: [number, number] | null;
  relative: { estimate: number; ci: [number, number] } | null;
  pValue: number;
  /** Holm (or BH) adjusted p across arms × (primary + guardrail) metrics; null for secondary metrics. */
  adjustedP: number | null;
  /** Significant in the good direction (adjustedP < α and CI excludes 0 on the good side). */
  better: boolean;
  /** Significant harm (beyond the guardrail margin for guardrails). */
  harmful: boolean;
  reason: string | null;
}

export interface ExperimentDecision {
  outcome: DecisionOutcome;
  winner?: string;
  rationale: string;
  look: number;
  arms: ArmMetricResult[];
}

/** Per-segment decision input: the experiment input plus the multiplicity method across segments. */
export interface DecideSegmentsInput extends DecideExperimentInput {
  /** 'holm' controls family-wise error; 'bh' the false discovery rate across segments × arms. */
  adjustment?: 'holm' | 'bh';
}

export interface SegmentDecision {
  segment: number;
  outcome: DecisionOutcome;
  winner?: string;
  rationale: string;
  arms: ArmMetricResult[];
}

export interface SegmentsDecision {
  look: number;
  adjustment: 'holm' | 'bh';
  segments: SegmentDecision[];
}

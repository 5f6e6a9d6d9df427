/** Shapes of the decision step's input and output. Everything is JSON-safe (no NaN/Infinity). */
import type { SampleRatioCheck } from '../stats/srm.js';
import type { CellStats, MetricRole, MetricSpec } from '../types.js';
import type { FixedHorizonPlan } from './fixed-horizon.js';
import type { DecisionPolicy } from './policy.js';
import type { RuleNote } from './rule-note.js';
import type { SrmAcknowledgement } from './srm-hold.js';
import type { WeightAction } from './arm-weights.js';

/**
 * Experiment-level outcomes. `stop_harm` is the roll back (every treatment arm stopped, all traffic to
 * control); stopping one arm is not an outcome but `stopArms` beside `continue`.
 */
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
  /** The resolved decision policy; default: the `balanced` preset. */
  policy?: DecisionPolicy;
  /** Relative minimum detectable effect (the fixed-horizon plan). */
  mde?: number;
  /** Epoch ms: when the experiment started and now (minimum runtime). Absent: no runtime minimum applies. */
  startedAt?: number;
  now?: number;
  /** This look's sample-ratio check and any operator acknowledgement of its alarm. */
  srm?: Pick<SampleRatioCheck, 'alarm' | 'pValue' | 'threshold'>;
  srmAcknowledged?: SrmAcknowledgement | null;
  /** Arms stopped at earlier looks (still stopped). */
  stoppedArms?: readonly string[];
  /** Arms an operator re-enabled: the circuit breaker does not stop them again. */
  exemptArms?: readonly string[];
  /** Fixed horizon: the plan carried from earlier looks. */
  plan?: FixedHorizonPlan | null;
  /** Ask for raise/lower weight actions (policies that do not set weights themselves). */
  weightActions?: boolean;
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

/** An arm stopped by a rule: routed to control while the experiment continues with the others. */
export interface ArmStop {
  arm: string;
  rule: 'guardrail' | 'harm';
  reason: string;
}

export interface ExperimentDecision {
  outcome: DecisionOutcome;
  winner?: string;
  rationale: string;
  look: number;
  arms: ArmMetricResult[];
  /** Arms stopped at this look (routed to control; the experiment continues with the others). */
  stopArms: ArmStop[];
  weightActions: WeightAction[];
  /** Every rule's rationale at this look, in order. */
  notes: RuleNote[];
  /** True while an unacknowledged sample-ratio alarm holds decisions. */
  srmHold: boolean;
  plan: FixedHorizonPlan | null;
}

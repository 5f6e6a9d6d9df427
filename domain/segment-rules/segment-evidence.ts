/**
 * Segment-level evidence for the always-valid segment rules (segment conclusions in the decide
 * step, the harm/futility rules of the throttle step).
 *
 * Effects are the period-stratified difference over the segment's own cells — (period[, propensity
 * stratum]) within the segment, as the experiment-level analysis does — never moments pooled over
 * periods: under a bandit whose weights move while the base rate drifts, the pooled difference is
 * Simpson-biased, and an always-valid test of a biased estimate rejects a true null with certainty
 * given enough data.
 *
 * The mSPRT's mixture sd τ is fixed per (segment, arm) at the first look that can set it (the
 * segment's control arm has `tauMinControlN` units and a non-zero mean) and carried across looks:
 * a τ re-derived at every look would make the running minimum mix p-values of different mixtures,
 * which is not an always-valid p-value process. Every (segment, arm) ever tested stays in the Holm
 * family with its running-minimum p-value, even when its segment disappears, so the family — and
 * with it Holm's guarantee across looks — never shrinks.
 */
import { stratifiedDifference } from '../stats/adaptive.js';
import type { CellStats, MetricType, Moments } from '../types.js';
import { mixtureIntervalFromEffect, type AlwaysValidInterval } from './always-valid.js';
import { decideSegmentArms, type SegmentArmDecision } from './segment-decisions.js';

/** Stratified treatment − control of one segment and arm. */
export interface SegmentArmEffect {
  estimate: number;
  /** Var(Δ̂) of the stratified estimate. */
  variance: number;
  /** Units behind the estimate (strata with both arms). */
  controlN: number;
  treatmentN: number;
  /** Strata (periods, propensity strata) with both arms. */
  strata: number;
}

/** Pooled moments of one variant in one segment (the baseline that τ and margins are scaled by). */
function segmentMoments(cells: readonly CellStats[], metric: string, segment: number, variant: string): Moments {
  const m = { n: 0, sum: 0, sumSquares: 0 };
  for (const c of cells) {
    if (c.metric !== metric || c.segment !== segment || c.variant !== variant) continue;
    m.n += c.moments.n;
    m.sum += c.moments.sum;
    m.sumSquares += c.moments.sumSquares;
  }
  return m;
}

/**
 * Treatment − control in one segment, stratified by the segment's allocation periods (and propensity
 * strata when cells carry them), with its variance.
 */
export function segmentArmEffect(
  cells: readonly CellStats[],
  options: { metric: string; metricType: MetricType; segment: number; control: string; treatment: string },
): SegmentArmEffect {
  const own = cells.filter((c) => c.metric === options.metric && c.segment === options.segment && (c.variant === options.control || c.variant === options.treatment));
  const s = stratifiedDifference(own, { metricType: options.metricType, control: options.control, treatment: options.treatment, strata: 'segment-period' });
  const usable = s.strata.length > 0;
  return {
    estimate: usable && Number.isFinite(s.estimate) ? s.estimate : 0,
    variance: usable && Number.isFinite(s.variance) ? s.variance : Infinity,
    controlN: s.controlN,
    treatmentN: s.treatmentN,
    strata: s.strata.length,
  };
}

/** Per-arm stratified effects of one segment (every non-control variant). */
export function segmentEffects(
  cells: readonly CellStats[],
  options: { metric: string; metricType: MetricType; segment: number; control: string; variants: readonly string[] },
): Record<string, SegmentArmEffect> {
  const out: Record<string, SegmentArmEffect> = {};
  for (const arm of options.variants) {
    if (arm === options.control) continue;
    out[arm] = segmentArmEffect(cells, { ...options, treatment: arm });
  }
  return out;
}

/** Defaults of the mixture sd: τ = tauRelative × |control mean|, fixed once the control arm has tauMinControlN units. */
export const SEGMENT_TAU_DEFAULTS = { tauRelative: 0.1, tauMinControlN: 30 } as const;

/** τ for a key that has none yet: null while the segment's baseline is not yet measured. */
export function initialSegmentTau(control: Moments, options?: { tauRelative?: number; tauMinControlN?: number }): number | null {
  const minN = options?.tauMinControlN ?? SEGMENT_TAU_DEFAULTS.tauMinControlN;
  if (control.n < Math.max(minN, 1)) return null;
  const mean = Math.abs(control.sum / control.n);
  if (!(mean > 0) || !Number.isFinite(mean)) return null;
  return Math.max((options?.tauRelative ?? SEGMENT_TAU_DEFAULTS.tauRelative) * mean, 1e-9);
}

/** `${segmentId}:${arm}`: the key of a segment × arm hypothesis in the carried state. */
export function segmentArmKey(segmentId: number, arm: string): string {
  return `${segmentId}:${arm}`;
}

function parseKey(key: string): { segmentId: number; arm: string } | null {
  const i = key.indexOf(':');
  if (i <= 0) return null;
  const segmentId = Number(key.slice(0, i));
  return Number.isInteger(segmentId) ? { segmentId, arm: key.slice(i + 1) } : null;
}

/** What the segment-level rule carries from one look to the next (stored in the decide payload). */
export interface SegmentLevelState {
  /** Running minimum of each key's always-valid p-value. */
  pMin: Record<string, number>;
  /** Each key's mixture sd, fixed at the look that first set it. */
  tau: Record<string, number>;
  /**
   * Each key's estimate at the look that attained its running-minimum p-value: the direction of
   * its conclusion, also when later looks drift or its segment has no data now.
   */
  estimate?: Record<string, number>;
}

export interface SegmentLevelInput {
  cells: readonly CellStats[];
  metric: { key: string; type: MetricType; direction: 'increase' | 'decrease' };
  /** Segments present at this look; keys already in `previous` are kept whether present or not. */
  segments: readonly number[];
  variants: readonly string[];
  control: string;
  alpha: number;
  previous?: Partial<SegmentLevelState>;
  tauRelative?: number;
  tauMinControlN?: number;
}

export interface SegmentLevelResult {
  /** One per key in the family (segment × arm ever tested), Holm-adjusted across all of them. */
  decisions: SegmentArmDecision[];
  /** The state to carry to the next look. */
  state: Required<SegmentLevelState>;
  /** This look's always-valid interval per key (uninformative while τ is not set). */
  intervals: Record<string, AlwaysValidInterval>;
}

/**
 * Segment × arm conclusions at one look: stratified effect per key → mSPRT with the key's fixed τ →
 * running minimum p → Holm across every key ever tested.
 */
export function segmentLevelDecisions(input: SegmentLevelInput): SegmentLevelResult {
  const prevP = input.previous?.pMin ?? {};
  const prevTau = input.previous?.tau ?? {};
  const prevEstimate = input.previous?.estimate ?? {};
  const arms = input.variants.filter((v) => v !== input.control);
  const keys = new Map<string, { segmentId: number; arm: string }>();
  for (const k of [...Object.keys(prevP), ...Object.keys(prevTau)]) {
    const parsed = parseKey(k);
    if (parsed) keys.set(k, parsed);
  }
  for (const s of input.segments) for (const arm of arms) keys.set(segmentArmKey(s, arm), { segmentId: s, arm });
  const armOrder = (a: string) => {
    const i = input.variants.indexOf(a);
    return i < 0 ? input.variants.length : i;
  };
  const ordered = [...keys.entries()].sort(([, a], [, b]) => a.segmentId - b.segmentId || armOrder(a.arm) - armOrder(b.arm) || (a.arm < b.arm ? -1 : a.arm > b.arm ? 1 : 0));

  const state: Required<SegmentLevelState> = { pMin: {}, tau: {}, estimate: {} };
  const intervals: Record<string, AlwaysValidInterval> = {};
  const evidence = [];
  const controlBySegment = new Map<number, Moments>();
  for (const [key, { segmentId, arm }] of ordered) {
    let control = controlBySegment.get(segmentId);
    if (!control) controlBySegment.set(segmentId, (control = segmentMoments(input.cells, input.metric.key, segmentId, input.control)));
    const effect = segmentArmEffect(input.cells, { metric: input.metric.key, metricType: input.metric.type, segment: segmentId, control: input.control, treatment: arm });
    const carried = prevTau[key];
    const tau = carried !== undefined && carried !== null && carried > 0 ? carried : initialSegmentTau(control, input);
    const iv: AlwaysValidInterval =
      tau !== null ? mixtureIntervalFromEffect(effect, input.alpha, tau) : { estimate: effect.estimate, lower: -Infinity, upper: Infinity, pValue: 1, variance: Infinity };
    intervals[key] = iv;
    const pNow = Number.isFinite(iv.pValue) ? iv.pValue : 1;
    const before = prevP[key] ?? 1;
    const p = Math.min(before, pNow);
    // The direction of a conclusion is that of the look whose p-value is the running minimum: a
    // later look's estimate may drift (the minimum does not), and must not turn "ship" into "harm".
    const carriedEstimate = prevEstimate[key];
    const estimate = effect.strata > 0 && (pNow <= before || carriedEstimate === undefined) ? effect.estimate : (carriedEstimate ?? 0);
    state.pMin[key] = p;
    if (tau !== null) state.tau[key] = tau;
    state.estimate[key] = estimate;
    evidence.push({ segmentId, arm, estimate, pValue: p });
  }
  const decisions = decideSegmentArms(evidence, { alpha: input.alpha, method: 'holm', direction: input.metric.direction });
  return { decisions, state, intervals };
}

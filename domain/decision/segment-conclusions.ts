/**
 * Segment conclusions: what each segment × arm has shown, and what each concluded segment is served.
 *
 * Evidence. Effects are the period-stratified difference over the segment's own cells — (period[,
 * propensity stratum]) within the segment, as the experiment-level analysis does — never moments
 * pooled over periods: under a bandit whose weights move while the base rate drifts, the pooled
 * difference is Simpson-biased, and an always-valid test of a biased estimate rejects a true null
 * with certainty given enough data.
 *
 * Always-valid conclusions. The mSPRT's mixture sd τ is fixed per (segment, arm) at the first look
 * that can set it (the segment's control arm has `tauMinControlN` units and a non-zero mean) and
 * carried: a τ re-derived at every look would make the running minimum mix p-values of different
 * mixtures. Looks need no correction: each p-value is the running minimum of an always-valid p-value
 * process. Holm across every (segment, arm) ever tested — kept in the family also after its segment
 * disappears — applied at every look to those running minima is valid across looks too, because Holm
 * is monotone in the p-values and the minima only decrease.
 *
 * Ending a starved arm. A bandit that moves a harmed segment's arm to its floor starves the test of
 * the data that would prove the harm, so the always-valid rule alone may never conclude. An arm is
 * therefore also ended in a segment (served control) when the posterior of its stratified effect
 * gives it a small chance to beat control and serving control instead risks little (expected loss
 * relative to control's mean below the policy's threshold) — evidence the allocation cannot starve,
 * since the expected loss shrinks as the arm's share does. An ended arm stays ended.
 *
 * Guardrails. A segment × arm never ships while the arm harms a guardrail in the segment (always-valid
 * interval beyond the margin, or beyond an absolute limit) or is stopped by the experiment's breaker.
 */
import { at } from '../at.js';
import { stratifiedDifference } from '../stats/adaptive.js';
import { gaussianEffectPosterior } from '../stats/bayesian.js';
import { adjustPValues, type AdjustmentMethod } from '../stats/multiple-testing.js';
import { mixtureIntervalFromEffect, type AlwaysValidInterval } from '../segment-rules/always-valid.js';
import type { CellStats, MetricSpec, MetricType, Moments, Weights } from '../types.js';
import { analyzeArms, classify } from './analyze-arms.js';
import { guardrailBreaches } from './guardrails.js';
import { pct } from './rule-note.js';

/** One hypothesis: arm vs control in one segment, at the current look. */
export interface SegmentArmEvidence {
  segmentId: number;
  arm: string;
  /** Treatment − control estimate (sign gives the direction of a rejection). */
  estimate: number;
  /** Running minimum of the always-valid p-value up to this look. */
  pValue: number;
}

/** ship: better (always-valid); harm: worse (always-valid); end: ended on the posterior (starved arm); none: open. */
export type SegmentOutcome = 'ship' | 'harm' | 'end' | 'none';

/** Decision for one segment × arm. */
export interface SegmentArmDecision extends SegmentArmEvidence {
  adjustedPValue: number;
  outcome: SegmentOutcome;
  reason: string;
}

/** Holm (FWER) or BH (FDR) across all segment × arm hypotheses; significant ones ship or are flagged harmful by sign. */
export function decideSegmentArms(
  evidence: SegmentArmEvidence[],
  options: { alpha: number; method: AdjustmentMethod; direction: 'increase' | 'decrease' },
): SegmentArmDecision[] {
  const adjusted = adjustPValues(evidence.map((e) => e.pValue), options.method);
  const good = options.direction === 'increase' ? 1 : -1;
  return evidence.map((e, i) => {
    const adj = at(adjusted, i, 'adjusted p-values');
    const significant = adj <= options.alpha;
    const outcome: SegmentOutcome = !significant ? 'none' : Math.sign(e.estimate) === good ? 'ship' : 'harm';
    const label = options.method === 'holm' ? 'Holm' : 'BH';
    const reason =
      outcome === 'none'
        ? `segment ${e.segmentId} ${e.arm}: not significant (${label}-adjusted always-valid p=${adj.toPrecision(3)} > ${options.alpha})`
        : `segment ${e.segmentId} ${e.arm}: ${outcome === 'ship' ? 'better, ship' : 'worse, serve control'} (${label}-adjusted always-valid p=${adj.toPrecision(3)} ≤ ${options.alpha})`;
    return { ...e, adjustedPValue: adj, outcome, reason };
  });
}

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
  /** Keys ended on the posterior, with the reason given when they ended (an ended arm stays ended). */
  ended?: Record<string, string>;
}

/** Thresholds of the posterior rule that ends a starved arm (from the decision policy). */
export interface EndArmRule {
  belowChanceToWin: number;
  maxExpectedLoss: number;
  minSample: number;
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
  /** Ends starved arms on the posterior; absent: only the always-valid rule concludes. */
  endArm?: EndArmRule;
  /** Keys that must not ship now, with why (guardrail harm in the segment, arm stopped). */
  blocked?: Readonly<Record<string, string>>;
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
  const prevEnded = input.previous?.ended ?? {};
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

  const state: Required<SegmentLevelState> = { pMin: {}, tau: {}, estimate: {}, ended: { ...prevEnded } };
  const endNow: Record<string, string> = {};
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
    if (input.endArm && !(key in prevEnded)) {
      const reason = endArmReason(effect, control, { segmentId, arm, direction: input.metric.direction, rule: input.endArm });
      if (reason) endNow[key] = reason;
    }
  }
  const decisions = decideSegmentArms(evidence, { alpha: input.alpha, method: 'holm', direction: input.metric.direction }).map((d): SegmentArmDecision => {
    const key = segmentArmKey(d.segmentId, d.arm);
    const block = input.blocked?.[key];
    if (d.outcome === 'ship' && block) return { ...d, outcome: 'none', reason: `segment ${d.segmentId} ${d.arm}: better but not shipped, ${block}` };
    if (d.outcome !== 'none') return d;
    const ended = prevEnded[key] ?? endNow[key];
    return ended ? { ...d, outcome: 'end', reason: ended } : d;
  });
  for (const [key, reason] of Object.entries(endNow)) state.ended[key] = reason;
  return { decisions, state, intervals };
}

/**
 * The posterior rule for a starved arm: with the stratified effect Δ ~ N(Δ̂, V), end the arm when
 * P(Δ good) ≤ belowChanceToWin and E[max(0, Δ good)] / |control mean| ≤ maxExpectedLoss (serving
 * control instead loses at most that much), once the arm has minSample units in the segment.
 */
export function endArmReason(effect: SegmentArmEffect, control: Moments, o: { segmentId: number; arm: string; direction: 'increase' | 'decrease'; rule: EndArmRule }): string | null {
  if (effect.treatmentN < o.rule.minSample || !(effect.variance > 0) || !Number.isFinite(effect.variance) || control.n === 0) return null;
  const base = Math.abs(control.sum / control.n);
  if (!(base > 0)) return null;
  const post = gaussianEffectPosterior({ estimate: effect.estimate, variance: effect.variance, direction: o.direction });
  const loss = post.expectedLossControl / base;
  if (post.probabilityToBeatControl > o.rule.belowChanceToWin || loss > o.rule.maxExpectedLoss) return null;
  return `segment ${o.segmentId} ${o.arm}: ended, serve control (chance to beat control ${pct(post.probabilityToBeatControl)} ≤ ${pct(o.rule.belowChanceToWin)}, expected loss of serving control ${pct(loss)} ≤ ${pct(o.rule.maxExpectedLoss)}, ${effect.treatmentN} units)`;
}

/**
 * Segment × arm keys that must not ship: the arm is stopped for the whole experiment, or it breaches
 * a guardrail within the segment (always-valid, unadjusted: blocking errs on the side of safety).
 */
export function segmentGuardrailBlocks(input: {
  cells: readonly CellStats[];
  metrics: readonly MetricSpec[];
  segments: readonly number[];
  variants: readonly string[];
  control: string;
  alpha: number;
  stoppedArms: readonly string[];
}): Record<string, string> {
  const out: Record<string, string> = {};
  const guardrails = input.metrics.filter((m) => m.role === 'guardrail');
  const arms = input.variants.filter((v) => v !== input.control);
  for (const s of input.segments) {
    const cells = input.cells.filter((c) => c.segment === s);
    const results = guardrails.length ? analyzeArms({ metrics: guardrails, cells, control: input.control, variants: input.variants, alpha: input.alpha }) : [];
    for (const r of results) r.adjustedP = r.pValue;
    classify(results, guardrails, input.alpha);
    const breaches = guardrailBreaches({ results, metrics: guardrails, cells, arms, alpha: input.alpha });
    for (const arm of arms) {
      const key = segmentArmKey(s, arm);
      if (input.stoppedArms.includes(arm)) out[key] = `${arm} is stopped by the circuit breaker`;
      else {
        const b = breaches.find((x) => x.arm === arm);
        if (b) out[key] = `guardrail harmed in segment ${s}: ${b.note.rationale}`;
      }
    }
  }
  return out;
}

export interface SegmentArmConclusion {
  segmentId: number;
  arm: string;
  estimate: number;
  adjustedPValue: number;
  outcome: SegmentOutcome;
}

export interface SegmentServing {
  serve: string;
  reason: string;
}

/**
 * Per concluded segment, the variant to serve everyone in it: the most significant arm shown better,
 * or control once every arm tested in it was shown harmful or ended. An arm harmful or ended while
 * others are still open is only taken out of the segment (`closedArmsBySegment`).
 */
export function servingForConcludedSegments(decisions: readonly SegmentArmConclusion[], control: string): Map<number, SegmentServing> {
  const out = new Map<number, SegmentServing>();
  const bySegment = new Map<number, SegmentArmConclusion[]>();
  for (const d of decisions) bySegment.set(d.segmentId, [...(bySegment.get(d.segmentId) ?? []), d]);
  for (const [segment, list] of bySegment) {
    const ships = list.filter((d) => d.outcome === 'ship').sort((a, b) => a.adjustedPValue - b.adjustedPValue || Math.abs(b.estimate) - Math.abs(a.estimate));
    const best = ships[0];
    if (best) {
      out.set(segment, { serve: best.arm, reason: `segment ${segment} concluded: ship ${best.arm} (adjusted always-valid p=${best.adjustedPValue.toPrecision(3)})` });
    } else if (list.every((d) => d.outcome === 'harm' || d.outcome === 'end')) {
      const harmful = list.filter((d) => d.outcome === 'harm').map((d) => d.arm);
      const ended = list.filter((d) => d.outcome === 'end').map((d) => d.arm);
      const what = [harmful.length ? `${harmful.join(', ')} harmful` : null, ended.length ? `${ended.join(', ')} ended` : null].filter(Boolean).join(', ');
      out.set(segment, { serve: control, reason: `segment ${segment} concluded: ${what}, serve ${control}` });
    }
  }
  return out;
}

/** Per segment, the arms shown harmful or ended there (served control in that segment). */
export function closedArmsBySegment(decisions: readonly SegmentArmConclusion[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const d of decisions) if (d.outcome === 'harm' || d.outcome === 'end') out.set(d.segmentId, [...(out.get(d.segmentId) ?? []), d.arm]);
  return out;
}

/** All weight on the served variant. */
export function servingWeights(variants: readonly string[], serve: string): Weights {
  return Object.fromEntries(variants.map((v) => [v, v === serve ? 1 : 0]));
}

type Outcome = 'continue' | 'ship' | 'stop_harm' | 'stop_futility' | 'inconclusive';

/**
 * The experiment-level verdict of a branching (segmented) experiment. A whole-population ship or
 * stop would override what the segments are finding (shipping to everyone while one segment is
 * harmed), so those wait; the experiment ends once every segment has its answer, each segment
 * keeping its own. Horizon outcomes (inconclusive, futility) still end it.
 */
export function applyBranching(input: {
  outcome: Outcome;
  winner: string | null;
  rationale: string;
  segments: readonly number[];
  /** Answers in force (reached at an earlier look, so already served). */
  settled: ReadonlyMap<number, SegmentServing>;
  terminated: ReadonlySet<number>;
  control: string;
}): { outcome: Outcome; winner: string | null; rationale: string } {
  const { segments, settled, terminated, control } = input;
  if (segments.length > 1 && segments.every((s) => settled.has(s) || terminated.has(s))) {
    const serves = segments.map((s) => (terminated.has(s) ? control : settled.get(s)!.serve));
    const same = serves.every((v) => v === serves[0]);
    const detail = segments.map((s, i) => `segment ${s} → ${serves[i]}${terminated.has(s) ? ' (terminated)' : ''}`).join('; ');
    const anyHarm = [...settled.values()].some((x) => x.serve === control);
    const outcome: Outcome = serves.some((v) => v !== control) ? 'ship' : anyHarm ? 'stop_harm' : 'stop_futility';
    return { outcome, winner: same && serves[0] !== undefined && serves[0] !== control ? serves[0] : null, rationale: `every segment has its answer: ${detail}.` };
  }
  if (input.outcome === 'ship' || input.outcome === 'stop_harm') {
    return { outcome: 'continue', winner: null, rationale: `per-segment experiment: continuing until every segment has its answer (whole population: ${input.rationale})` };
  }
  return { outcome: input.outcome, winner: input.winner, rationale: input.rationale };
}

/**
 * Per-segment throttle and termination rules, evaluated every cycle after prediction. Each segment
 * gets one status, a coverage and a reason string for the audit log. Rules are checked in a fixed
 * order, first match wins, from "must stop" to "may slow down":
 *   1. terminated stays terminated (a segment that went to control does not come back silently);
 *   2. too small: fewer than `minSegmentSize` units — it can never reach a decision;
 *   3. harm: some treatment arm's always-valid interval lies entirely beyond −margin in the bad
 *      direction (a proven guardrail breach; valid at every look, so checking every cycle is fine).
 *      The intervals come from `effects` when given — the period-stratified difference, as the
 *      throttle activity supplies it — else from the pooled moments, which only a fixed allocation
 *      leaves unbiased;
 *   4. futility: every arm's always-valid interval lies inside ±MDE — whatever the truth, it is
 *      smaller than what the experiment was designed to find;
 *   5. budget: even the optimistic prediction at full coverage — the `budgetQuantile` residual
 *      quantile of remaining samples, calibrated on held-out history — exceeds the remaining cycles
 *      or samples. Guarded: it may only fire once every arm has `budgetMinSamplesPerArm` units and
 *      after `budgetMinLooks` looks, because before that the effect estimate is mostly noise and a
 *      promising segment that happens to look null would be ended for good;
 *   6. likely harm: a lenient interval (α = `likelyHarmAlpha`) already excludes 0 in the bad
 *      direction → throttle. This is not a claim, only a precaution, so it needs no error control;
 *      it is what cuts exposure of a harmed segment before harm is proven. The throttle goes to
 *      `minCoverage`, or — with `likelyHarmKeepProvable` — only as far as still lets the predicted
 *      median reach significance within the remaining cycles, so that a harm that can be proven is
 *      proven by rule 3 (a claim with error control) instead of starved of data;
 *   7. otherwise coverage ∝ 1/predicted time (`computeCoverage`); below 1 is reported as throttled.
 * Terminated segments serve the control experience with coverage 0.
 */
import type { Moments, SegmentStatus } from '../types.js';
import type { SignificancePrediction } from '../prediction/tree-model.js';
import { mixtureIntervalFromEffect, mixtureSequentialInterval, type AlwaysValidInterval, type EffectEvidence } from './always-valid.js';
import { computeCoverage } from './coverage.js';

/** Which rule set the outcome. */
export type SegmentRuleKind = 'terminal' | 'too-small' | 'harm' | 'futility' | 'budget' | 'likely-harm' | 'coverage';

/** One segment's state at this cycle. */
export interface SegmentRuleInput {
  id: number;
  /** Units in the segment's population. */
  size: number;
  /** Units per cycle the segment would send at full coverage. */
  accrualPerCycle: number;
  /**
   * Sufficient statistics of the primary metric per variant, in this segment (pooled over periods):
   * the control mean scales τ and the margins, the arm sizes gate the budget rule, and — when
   * `effects` is absent — the intervals come from them.
   */
  arms: Record<string, Moments>;
  /**
   * Per treatment arm, the treatment − control effect and its variance to build the always-valid
   * intervals from, instead of the pooled moments: the period-stratified difference, which adaptive
   * allocation does not bias. `tau` (absolute) overrides the segment's τ for that arm, so the
   * interval uses the same fixed mixture as the decide step's segment conclusions.
   */
  effects?: Record<string, EffectEvidence & { tau?: number }>;
  /** Prediction at full coverage; null when none could be made. */
  prediction: SignificancePrediction | null;
  previousStatus: SegmentStatus;
  previousCoverage?: number;
  /** Mixture sd (absolute units) for the always-valid interval; default tauRelative × control mean. */
  tau?: number;
}

/** Policy configuration. Relative quantities are fractions of the control mean. */
export interface SegmentRulesConfig {
  control: string;
  /** Which direction of the primary metric is good. */
  direction: 'increase' | 'decrease';
  minCoverage: number;
  minSegmentSize: number;
  /** Largest tolerated relative harm (0.02 = 2%); 0 means any proven harm terminates. */
  harmMargin: number;
  /** Relative minimum detectable effect the experiment was designed for (futility rule). */
  mde: number;
  /** Disable the futility rule (e.g. for a guardrail-only segment). Default true. */
  futility?: boolean;
  /** α of the harm interval; default the call's alpha. */
  harmAlpha?: number;
  /** α of the precautionary likely-harm throttle; default 0.3; set 0 to disable. */
  likelyHarmAlpha?: number;
  /** Mixture sd relative to the control mean when a segment has no `tau`. Default 0.1. */
  tauRelative?: number;
  /**
   * The budget rule waits until every arm has this many units: earlier predictions rest on an
   * effect estimate that is mostly noise and would end promising segments. Default 1000.
   */
  budgetMinSamplesPerArm?: number;
  /** The budget rule waits until this look (cycle number). Default 3. */
  budgetMinLooks?: number;
  /**
   * Residual level of the prediction treated as "optimistic" by the budget rule (a key of
   * `samplesQuantiles`, e.g. 0.05). The tree's residual quantiles are split-conformal on held-out
   * history, so the level is a calibrated probability that the segment is at least this fast.
   * When the prediction has no quantile at this level, the smallest available one is used.
   * Default 0.1.
   */
  budgetQuantile?: number;
  /** See rule 6: throttle a likely-harmed segment no further than keeps harm provable. Default false. */
  likelyHarmKeepProvable?: boolean;
}

/** Budget-rule defaults (exported so callers and tests agree on them). */
export const BUDGET_RULE_DEFAULTS = { minSamplesPerArm: 1000, minLooks: 3, quantile: 0.1 } as const;

/**
 * The optimistic remaining samples of a prediction: its `level` quantile when present, else the
 * smallest quantile it has (a point prediction is its own optimistic value).
 */
export function optimisticSamples(p: SignificancePrediction, level: number): number {
  const exact = p.samplesQuantiles[String(level)];
  if (exact !== undefined && Number.isFinite(exact)) return exact;
  const values = Object.values(p.samplesQuantiles).filter((v) => Number.isFinite(v));
  return Math.min(...values, p.samples);
}

/** What remains of the experiment's budget. */
export interface RemainingBudget {
  cycles?: number;
  samples?: number;
}

export interface EvaluateSegmentsInput {
  segments: SegmentRuleInput[];
  config: SegmentRulesConfig;
  remainingBudget: RemainingBudget;
  /** Family α of the always-valid intervals. */
  alpha: number;
  /** Cycle number, for the audit text. */
  look: number;
}

/** Outcome for one segment. */
export interface SegmentRuleResult {
  id: number;
  status: SegmentStatus;
  coverage: number;
  rule: SegmentRuleKind;
  reason: string;
  /** Status or coverage differs from the previous cycle (write an audit entry). */
  changed: boolean;
  /** Variant everyone in the segment is served when not enrolled; control for terminated. */
  serve: string | null;
  intervals: Record<string, AlwaysValidInterval>;
}

/** Applies the throttle/terminate rules and the coverage policy to every segment. */
export function evaluateSegments(input: EvaluateSegmentsInput): SegmentRuleResult[] {
  const { config, alpha, look } = input;
  const harmAlpha = config.harmAlpha ?? alpha;
  const likelyAlpha = config.likelyHarmAlpha ?? 0.3;
  const sign = config.direction === 'increase' ? 1 : -1;
  const pending: Array<{ seg: SegmentRuleInput; intervals: Record<string, AlwaysValidInterval> }> = [];
  const results = new Map<number, SegmentRuleResult>();

  const finish = (seg: SegmentRuleInput, status: SegmentStatus, coverage: number, rule: SegmentRuleKind, reason: string, intervals: Record<string, AlwaysValidInterval>) => {
    const changed = status !== seg.previousStatus || Math.abs(coverage - (seg.previousCoverage ?? (seg.previousStatus === 'terminated' ? 0 : 1))) > 1e-9;
    results.set(seg.id, {
      id: seg.id,
      status,
      coverage,
      rule,
      reason: `look ${look}, segment ${seg.id}: ${reason}`,
      changed,
      serve: status === 'terminated' ? config.control : null,
      intervals,
    });
  };

  for (const seg of input.segments) {
    const control = seg.arms[config.control];
    const treatmentArms = Object.entries(seg.arms).filter(([k]) => k !== config.control);
    const treatments = treatmentArms.map(([k]) => k);
    const controlMean = control && control.n > 0 ? control.sum / control.n : 0;
    const scale = Math.abs(controlMean);
    const tau = seg.tau ?? Math.max((config.tauRelative ?? 0.1) * scale, 1e-9);
    const intervals: Record<string, AlwaysValidInterval> = {};
    const interval = (arm: string, moments: Moments, a: number): AlwaysValidInterval => {
      const effect = seg.effects?.[arm];
      if (seg.effects) return effect ? mixtureIntervalFromEffect(effect, a, effect.tau ?? tau) : emptyInterval();
      return control ? mixtureSequentialInterval(control, moments, a, tau) : emptyInterval();
    };
    // The harm intervals go into the decision as a record; the rules below read this list.
    const byArm: Array<{ arm: string; harm: AlwaysValidInterval; lenient: AlwaysValidInterval | undefined }> = [];
    for (const [arm, moments] of treatmentArms) {
      const harm = interval(arm, moments, harmAlpha);
      const soft = likelyAlpha > 0 ? interval(arm, moments, likelyAlpha) : undefined;
      intervals[arm] = harm;
      byArm.push({ arm, harm, lenient: soft });
    }

    if (seg.previousStatus === 'terminated') {
      finish(seg, 'terminated', 0, 'terminal', 'stays terminated (serving control)', intervals);
      continue;
    }
    if (seg.size < config.minSegmentSize) {
      finish(seg, 'terminated', 0, 'too-small', `too small: ${seg.size} units < minSegmentSize ${config.minSegmentSize}; serving control`, intervals);
      continue;
    }
    // Bad direction: for an "increase" metric harm is a negative difference, so the whole interval
    // beyond −margin means upper < −margin·|control mean|. The margin is converted with the observed
    // control mean, a plug-in that ignores its (small) uncertainty.
    const marginAbs = config.harmMargin * scale;
    const harmed = byArm.filter((t) => badSideBound(t.harm, sign) < -marginAbs);
    if (harmed.length) {
      const desc = harmed.map((t) => `${t.arm} ${fmtInterval(t.harm, scale)}`).join(', ');
      finish(seg, 'terminated', 0, 'harm', `harm beyond margin ${pct(config.harmMargin)} (always-valid α=${harmAlpha}): ${desc}; serving control`, intervals);
      continue;
    }
    if (config.futility !== false && treatments.length) {
      const mdeAbs = config.mde * scale;
      const futile = byArm.every((t) => t.harm.lower > -mdeAbs && t.harm.upper < mdeAbs);
      if (futile && mdeAbs > 0) {
        const desc = byArm.map((t) => `${t.arm} ${fmtInterval(t.harm, scale)}`).join(', ');
        finish(seg, 'terminated', 0, 'futility', `futile: always-valid intervals inside ±MDE ${pct(config.mde)}: ${desc}; serving control`, intervals);
        continue;
      }
    }
    const p = seg.prediction;
    const armNs = Object.values(seg.arms).map((m) => m.n);
    const minArm = armNs.length ? Math.min(...armNs) : 0;
    const budgetReady = minArm >= (config.budgetMinSamplesPerArm ?? BUDGET_RULE_DEFAULTS.minSamplesPerArm) && look >= (config.budgetMinLooks ?? BUDGET_RULE_DEFAULTS.minLooks);
    if (p && budgetReady) {
      const level = config.budgetQuantile ?? BUDGET_RULE_DEFAULTS.quantile;
      const optSamples = optimisticSamples(p, level);
      // Cycles at full coverage, the same conversion the prediction used for its median.
      const optCycles = p.samples > 0 && p.cycles > 0 ? optSamples * (p.cycles / p.samples) : optSamples / Math.max(seg.accrualPerCycle, 1e-9);
      const { cycles, samples } = input.remainingBudget;
      if (cycles !== undefined && optCycles > cycles) {
        finish(seg, 'terminated', 0, 'budget', `over budget: even the optimistic (q=${level}) prediction ${optCycles.toFixed(1)} cycles > ${cycles} remaining; serving control`, intervals);
        continue;
      }
      if (samples !== undefined && optSamples > samples) {
        finish(seg, 'terminated', 0, 'budget', `over budget: optimistic (q=${level}) prediction ${Math.round(optSamples)} samples > ${Math.round(samples)} remaining; serving control`, intervals);
        continue;
      }
    }
    const likely = byArm.flatMap((t) => (t.lenient && badSideBound(t.lenient, sign) < 0 ? [{ arm: t.arm, lenient: t.lenient }] : []));
    if (likely.length) {
      const desc = likely.map((t) => `${t.arm} ${fmtInterval(t.lenient, scale)}`).join(', ');
      let c = config.minCoverage;
      const remainingCycles = input.remainingBudget.cycles;
      if (config.likelyHarmKeepProvable && p && !p.capped && remainingCycles !== undefined && remainingCycles > 0) {
        c = Math.min(1, Math.max(config.minCoverage, p.cycles / remainingCycles));
      }
      const why = c > config.minCoverage ? ' (kept enough traffic to prove the harm within the remaining cycles)' : '';
      finish(seg, c < 1 ? 'throttled' : 'active', c, 'likely-harm', `likely harm (α=${likelyAlpha} interval excludes 0): ${desc}; throttled to ${pct(c)}${why}`, intervals);
      continue;
    }
    pending.push({ seg, intervals });
  }

  const coverage = computeCoverage(
    pending.map(({ seg }) => ({ id: seg.id, predictedCycles: seg.prediction && !seg.prediction.capped ? seg.prediction.cycles : null })),
    config.minCoverage,
  );
  for (const { seg, intervals } of pending) {
    const c = coverage.get(seg.id)!;
    const t = seg.prediction ? (seg.prediction.capped ? 'beyond the cap' : `${seg.prediction.cycles.toFixed(1)} cycles`) : 'unknown';
    finish(seg, c < 1 ? 'throttled' : 'active', c, 'coverage', `coverage ${pct(c)} ∝ 1/predicted time (${t})`, intervals);
  }
  return input.segments.map((s) => results.get(s.id)!);
}

/** The interval end on the harmful side, expressed so that "< 0" means harm. */
function badSideBound(iv: AlwaysValidInterval, sign: number): number {
  return sign > 0 ? iv.upper : -iv.lower;
}

function emptyInterval(): AlwaysValidInterval {
  return { estimate: 0, lower: -Infinity, upper: Infinity, pValue: 1, variance: Infinity };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function fmtInterval(iv: AlwaysValidInterval, scale: number): string {
  if (scale <= 0) return `[${iv.lower.toPrecision(3)}, ${iv.upper.toPrecision(3)}]`;
  return `[${pct(iv.lower / scale)}, ${pct(iv.upper / scale)}] relative`;
}

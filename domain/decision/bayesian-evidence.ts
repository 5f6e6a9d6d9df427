/**
 * Bayesian method (GrowthBook's decision rule): ship an arm when its chance to beat control reaches
 * the threshold and the expected loss of shipping it, relative to control's mean, is below the
 * threshold. Binary metrics with a single allocation period compare the arms' Beta posteriors
 * (`comparePosteriors`); otherwise the posterior is that of the period-stratified effect, since
 * pooling across periods of a bandit is Simpson-biased.
 */
import { stratifiedDifference } from '../stats/adaptive.js';
import { betaBinomialPosterior, comparePosteriors, gaussianEffectPosterior, normalMeanPosterior, probabilityBest, type EffectPosterior } from '../stats/bayesian.js';
import type { Interval } from '../stats/effects.js';
import { addMoments, emptyMoments, meanOf } from '../stats/moments.js';
import type { CellStats, MetricSpec, Moments } from '../types.js';
import { pct, type RuleNote } from './rule-note.js';

export interface BayesianArm {
  arm: string;
  chanceToWin: number;
  /** Expected loss of shipping the arm, relative to |control mean|. */
  expectedLoss: number;
  /** Expected loss of keeping control instead, relative to |control mean|. */
  expectedLossControl: number;
  relativeCi: [number, number] | null;
  lift: number;
  controlN: number;
  treatmentN: number;
}

function pooled(cells: readonly CellStats[], metric: string, variant: string): Moments {
  let m = emptyMoments();
  for (const c of cells) if (c.metric === metric && c.variant === variant) m = addMoments(m, c.moments);
  return m;
}

/** Posterior of treatment − control on one metric over the given cells. */
function effectPosterior(
  cells: readonly CellStats[],
  metric: Pick<MetricSpec, 'key' | 'type' | 'direction'>,
  control: string,
  arm: string,
  alpha: number,
): { posterior: EffectPosterior; controlMean: number; controlN: number; treatmentN: number; relativeCi: Interval | null } {
  const own = cells.filter((c) => c.metric === metric.key);
  const s = stratifiedDifference(own, { metricType: metric.type, control, treatment: arm, alpha, strata: 'segment-period' });
  const c = pooled(own, metric.key, control);
  const t = pooled(own, metric.key, arm);
  // The lift's credible interval: the flat-prior posterior of the delta-method lift Δ/m̄_c, which
  // carries the control mean's own uncertainty (gbstats EffectBayesianABTest, difference_type
  // 'relative'). The absolute interval over m̄_c taken as known was up to 10× too narrow at small n,
  // and below −100 % for a binary metric, yet the minimum-lift rule ships on its lower end.
  const relativeCi = s.relative ? gaussianEffectPosterior({ estimate: s.relative.estimate, variance: s.relative.standardError ** 2, alpha }).ci : null;
  if (metric.type === 'binary' && s.strata.length <= 1 && c.n > 0 && t.n > 0) {
    const posterior = comparePosteriors(betaBinomialPosterior({ n: c.n, successes: c.sum }), betaBinomialPosterior({ n: t.n, successes: t.sum }), { alpha, direction: metric.direction });
    return { posterior, controlMean: meanOf(c), controlN: c.n, treatmentN: t.n, relativeCi };
  }
  const posterior = gaussianEffectPosterior({ estimate: Number.isFinite(s.estimate) ? s.estimate : 0, variance: Number.isFinite(s.variance) ? s.variance : Infinity, alpha, direction: metric.direction });
  return { posterior, controlMean: s.controlMean, controlN: s.controlN, treatmentN: s.treatmentN, relativeCi };
}

export function bayesianArm(cells: readonly CellStats[], metric: MetricSpec, control: string, arm: string, alpha: number): BayesianArm {
  const { posterior, controlMean, controlN, treatmentN, relativeCi } = effectPosterior(cells, metric, control, arm, alpha);
  const base = Math.abs(controlMean);
  const rel = (x: number) => (base > 0 ? x / base : x);
  const sign = metric.direction === 'increase' ? 1 : -1;
  return {
    arm,
    chanceToWin: posterior.probabilityToBeatControl,
    expectedLoss: rel(posterior.expectedLoss),
    expectedLossControl: rel(posterior.expectedLossControl),
    // With no delta-method lift (a treatment mean of 0, no variance) the absolute interval over the
    // control mean is the only relative scale left.
    relativeCi: relativeCi ?? (base > 0 ? [posterior.ci[0] / base, posterior.ci[1] / base] : null),
    lift: sign * rel(posterior.mean),
    controlN,
    treatmentN,
  };
}

/** Ship / harm verdict of one arm under the Bayesian thresholds. */
export function bayesianVerdict(b: BayesianArm, thresholds: { chanceToWin: number; maxExpectedLoss: number }): { better: boolean; harmful: boolean; note: RuleNote } {
  const better = b.chanceToWin >= thresholds.chanceToWin && b.expectedLoss <= thresholds.maxExpectedLoss;
  const harmful = b.chanceToWin <= 1 - thresholds.chanceToWin && b.expectedLossControl <= thresholds.maxExpectedLoss;
  const verdict = better ? 'ship-worthy' : harmful ? 'worse than control' : 'not yet decided';
  return {
    better,
    harmful,
    note: {
      rule: 'method',
      rationale: `${b.arm}: chance to beat control ${pct(b.chanceToWin)} (threshold ${pct(thresholds.chanceToWin)}), expected loss ${pct(b.expectedLoss)} (max ${pct(thresholds.maxExpectedLoss)}), lift ${pct(b.lift)}: ${verdict}`,
    },
  };
}

/** P(each arm is best) from the arms' own posteriors (Beta for binary metrics, Normal otherwise). */
export function probabilityBestByArm(cells: readonly CellStats[], metric: MetricSpec, arms: readonly string[]): Record<string, number> {
  const posteriors = arms.map((a) => {
    const m = pooled(cells, metric.key, a);
    if (metric.type === 'binary') return betaBinomialPosterior({ n: m.n, successes: m.sum });
    // Units that all had one outcome (n ≥ 2, no spread) are a point mass at their mean, as in the
    // allocation's Thompson posteriors; only an arm with fewer than two units is uninformed.
    return normalMeanPosterior(m) ?? { kind: 'normal' as const, mean: m.n ? meanOf(m) : 0, variance: m.n >= 2 ? 0 : 1e12 };
  });
  const p = probabilityBest(posteriors, metric.direction);
  return Object.fromEntries(arms.map((a, i) => [a, p[i] ?? 0]));
}


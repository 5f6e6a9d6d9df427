/**
 * Bayesian comparison. Binary metrics: Beta-Binomial per arm (default Beta(1,1)). Continuous/count
 * metrics: Normal posterior for each arm's mean with σ² plugged in from the sample and a weak
 * conjugate Normal prior (default flat, i.e. the limit of a very wide prior, as gbstats uses).
 *
 * Binary comparisons are exact on the Beta posteriors (beta-comparison.ts): P(beat control), both
 * expected losses and the credible interval of the difference. Normal posteriors use the closed forms
 * P(beat control) = Φ(μ/σ) and E[max(0, −Δ)] = σφ(μ/σ) − μΦ(−μ/σ) (gbstats `get_risk`).
 * P(best among k) is the 1-D integral ∫ f_j(x) Π_{i≠j} F_i(x) dx on the exact posteriors by adaptive
 * quadrature; with two arms it is P(beat control) itself, so the two figures always agree. The k-arm
 * expected loss E[max_i θ_i − θ_j] has no closed form and uses seeded Monte Carlo.
 */
import { at } from '../at.js';
import type { Rng } from '../rng.js';
import { beta as betaDraw, normal as normalDraw } from '../rng.js';
import type { Moments } from '../types.js';
import type { Interval } from './effects.js';
import { betaBreakpoints, betaDifferenceQuantile, betaExceedance, betaExpectedShortfalls, betaMoments } from './beta-comparison.js';
import { betaLogPdf, betaTails, normalCdf, normalPdf, normalQuantile, normalSf, regularizedBeta } from './normal.js';
import { integrateAdaptive } from './quadrature.js';
import { meanOf, sampleVarianceOf } from './moments.js';

export interface BetaPosterior {
  kind: 'beta';
  alpha: number;
  beta: number;
}

export interface NormalPosterior {
  kind: 'normal';
  mean: number;
  variance: number;
}

export type Posterior = BetaPosterior | NormalPosterior;

/** Normal prior on a mean; variance Infinity = flat. */
export interface NormalPrior {
  mean: number;
  variance: number;
}

/** Beta posterior from conversions; prior Beta(1,1) unless given. */
export function betaBinomialPosterior(counts: { n: number; successes: number }, prior = { alpha: 1, beta: 1 }): BetaPosterior {
  const s = Math.min(Math.max(counts.successes, 0), Math.max(counts.n, 0));
  return { kind: 'beta', alpha: prior.alpha + s, beta: prior.beta + Math.max(counts.n, 0) - s };
}

/**
 * Normal posterior of an arm's mean with the sample variance as known σ². Returns null when the data
 * cannot identify the mean under a flat prior (n < 2 or zero variance).
 */
export function normalMeanPosterior(m: Moments, prior: NormalPrior = { mean: 0, variance: Infinity }): NormalPosterior | null {
  const s2 = sampleVarianceOf(m);
  const priorPrecision = Number.isFinite(prior.variance) && prior.variance > 0 ? 1 / prior.variance : 0;
  const dataPrecision = m.n >= 2 && s2 > 0 ? m.n / s2 : 0;
  const precision = priorPrecision + dataPrecision;
  if (!(precision > 0)) return null;
  const mean = (priorPrecision * prior.mean + dataPrecision * meanOf(m)) / precision;
  return { kind: 'normal', mean, variance: 1 / precision };
}

/** Posterior mean and variance. */
export function posteriorMoments(p: Posterior): { mean: number; variance: number } {
  if (p.kind === 'normal') return { mean: p.mean, variance: p.variance };
  const s = p.alpha + p.beta;
  return { mean: p.alpha / s, variance: (p.alpha * p.beta) / (s * s * (s + 1)) };
}

/** [F(x), 1 − F(x)], the smaller computed directly. */
function tails(p: Posterior, x: number): [number, number] {
  if (p.kind === 'beta') return betaTails(x, p.alpha, p.beta);
  const z = (x - p.mean) / Math.sqrt(p.variance);
  return [normalCdf(z), normalSf(z)];
}

/** Breakpoints over the bulk of a posterior (where quadrature must look closely). */
function breakpoints(p: Posterior): number[] {
  if (p.kind === 'beta') return betaBreakpoints(p);
  const sd = Math.sqrt(p.variance);
  return [-40, -12, -6, -3, -1, 0, 1, 3, 6, 12, 40].map((k) => p.mean + k * sd);
}

/** Equal-tailed credible interval of one posterior. */
export function credibleInterval(p: Posterior, alpha = 0.05): Interval {
  if (p.kind === 'normal') {
    const sd = Math.sqrt(p.variance);
    return [p.mean + sd * normalQuantile(alpha / 2), p.mean + sd * normalQuantile(1 - alpha / 2)];
  }
  // Bisection to a relative width of a few ulps: an absolute 1e-15 left Beta(1, 1e9)'s 2.5% quantile
  // (2.53e-11) 6e-6 off scipy's beta.ppf. Each halving gains a bit; ~1100 reach the smallest doubles.
  const q = (target: number) => {
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 1100 && hi - lo > 4 * Number.EPSILON * hi; i++) {
      const mid = 0.5 * (lo + hi);
      if (regularizedBeta(mid, p.alpha, p.beta) < target) lo = mid;
      else hi = mid;
    }
    return 0.5 * (lo + hi);
  };
  return [q(alpha / 2), q(1 - alpha / 2)];
}

/** Posterior summary of a Normal effect Δ ~ N(μ, σ²): chance to win, risks, credible interval. */
export interface EffectPosterior {
  mean: number;
  sd: number;
  /** P(Δ > 0), or P(Δ < 0) when lower is better. */
  probabilityToBeatControl: number;
  /** Expected loss of shipping the treatment: E[max(0, −Δ)] in the good direction. */
  expectedLoss: number;
  /** Expected loss of keeping control: E[max(0, Δ)] in the good direction. */
  expectedLossControl: number;
  ci: Interval;
  reason?: 'zero-variance' | 'empty-arm';
}

/**
 * Normal effect posterior from an estimate and its variance, optionally shrunk by a Normal prior on the
 * effect (gbstats EffectBayesianABTest; prior omitted = improper flat prior).
 */
export function gaussianEffectPosterior(input: { estimate: number; variance: number; alpha?: number; prior?: NormalPrior; direction?: 'increase' | 'decrease' }): EffectPosterior {
  const alpha = input.alpha ?? 0.05;
  const sign = input.direction === 'decrease' ? -1 : 1;
  if (!(input.variance > 0)) {
    return { mean: input.estimate, sd: 0, probabilityToBeatControl: 0.5, expectedLoss: 0, expectedLossControl: 0, ci: [input.estimate, input.estimate], reason: 'zero-variance' };
  }
  const prior = input.prior;
  const priorPrec = prior && Number.isFinite(prior.variance) && prior.variance > 0 ? 1 / prior.variance : 0;
  const prec = 1 / input.variance + priorPrec;
  const mean = priorPrec > 0 && prior ? (input.estimate / input.variance + prior.mean * priorPrec) / prec : input.estimate;
  const sd = Math.sqrt(1 / prec);
  const mu = sign * mean;
  const z = mu / sd;
  // E[max(0, −X)] for X ~ N(μ, σ²) = σφ(μ/σ) − μΦ(−μ/σ); E[max(0, X)] = σφ(μ/σ) + μΦ(μ/σ).
  const expectedLoss = Math.max(0, sd * normalPdf(z) - mu * normalCdf(-z));
  const expectedLossControl = Math.max(0, sd * normalPdf(z) + mu * normalCdf(z));
  return {
    mean,
    sd,
    probabilityToBeatControl: normalCdf(z),
    expectedLoss,
    expectedLossControl,
    ci: [mean + sd * normalQuantile(alpha / 2), mean + sd * normalQuantile(1 - alpha / 2)],
  };
}

/**
 * Compares a treatment posterior with control (difference treatment − control): exact for two Beta
 * posteriors, closed-form Normal for two Normal ones. A Beta vs Normal pair does not occur (one metric
 * has one model) and is compared on moment-matched Normals.
 */
export function comparePosteriors(control: Posterior, treatment: Posterior, options: { alpha?: number; direction?: 'increase' | 'decrease' } = {}): EffectPosterior {
  if (control.kind === 'beta' && treatment.kind === 'beta') return compareBetaPosteriors(control, treatment, options);
  const c = posteriorMoments(control);
  const t = posteriorMoments(treatment);
  return gaussianEffectPosterior({ estimate: t.mean - c.mean, variance: c.variance + t.variance, alpha: options.alpha, direction: options.direction });
}

function compareBetaPosteriors(control: BetaPosterior, treatment: BetaPosterior, options: { alpha?: number; direction?: 'increase' | 'decrease' }): EffectPosterior {
  const alpha = options.alpha ?? 0.05;
  const c = betaMoments(control);
  const t = betaMoments(treatment);
  const { xOverY: treatmentAbove, yOverX: controlAbove } = betaExpectedShortfalls(treatment, control);
  const [treatmentHigher, controlHigher] = betaExceedance(treatment, control);
  const increase = options.direction !== 'decrease';
  return {
    mean: t.mean - c.mean,
    sd: Math.hypot(t.sd, c.sd),
    probabilityToBeatControl: increase ? treatmentHigher : controlHigher,
    // Shipping the treatment loses what control would have had over it, in the good direction.
    expectedLoss: increase ? controlAbove : treatmentAbove,
    expectedLossControl: increase ? treatmentAbove : controlAbove,
    ci: [betaDifferenceQuantile(control, treatment, alpha / 2), betaDifferenceQuantile(control, treatment, 1 - alpha / 2)],
  };
}

/** [P(control is best), P(treatment is best)] for two arms, the same numbers comparePosteriors reports. */
function probabilityBestOfTwo(control: Posterior, treatment: Posterior, direction: 'increase' | 'decrease'): number[] | null {
  if (control.kind === 'beta' && treatment.kind === 'beta') {
    const [treatmentHigher, controlHigher] = betaExceedance(treatment, control);
    return direction === 'increase' ? [controlHigher, treatmentHigher] : [treatmentHigher, controlHigher];
  }
  if (control.kind === 'normal' && treatment.kind === 'normal') {
    const e = gaussianEffectPosterior({ estimate: treatment.mean - control.mean, variance: control.variance + treatment.variance, direction });
    if (e.reason) return null;
    const z = ((direction === 'decrease' ? -1 : 1) * e.mean) / e.sd;
    return [normalCdf(-z), e.probabilityToBeatControl];
  }
  return null;
}

/**
 * P(arm j is best) for each arm. "Best" = largest, or smallest when direction is 'decrease'.
 * Two arms: the pairwise comparison itself. More: ∫ f_j(x) Π_{i≠j} F_i(x) dx for every j at once by
 * adaptive Gauss–Kronrod over the union of the posteriors' supports, with breakpoints at every arm's
 * bulk so a narrow posterior inside a wide one is not stepped over.
 *
 * A zero-variance posterior (a Normal arm whose units all had the same outcome, e.g. no revenue yet) is
 * a point mass, not a reason to rank by means: with a point mass at M (the best such value), arm j is
 * best with ∫_{beyond M} f_j Π F_i, and the arms at M share Π_i F_i(M). Ranking by means gave a
 * constant-0 arm P(best) = 0 against N(0.5, 1) where the reference (scipy quadrature of the same
 * posteriors, or the Monte Carlo of any Thompson sampler) gives Φ(−0.5) = 0.31.
 */
export function probabilityBest(posteriors: readonly Posterior[], direction: 'increase' | 'decrease' = 'increase'): number[] {
  const k = posteriors.length;
  if (k === 0) return [];
  if (k === 1) return [1];
  const sign = direction === 'increase' ? 1 : -1;
  const point = posteriors.map((p) => !(posteriorMoments(p).variance > 0));
  if (point.every(Boolean)) return probabilityBestByMean(posteriors, direction);
  const [first, second] = posteriors;
  if (k === 2 && first && second && !point.some(Boolean)) {
    const pair = probabilityBestOfTwo(first, second, direction);
    if (pair) return pair;
  }
  const live = posteriors.filter((_, i) => !point[i]);
  // The best point mass, in the good direction (−Infinity when there is none).
  const bar = Math.max(...posteriors.map((p, i) => (point[i] ? sign * posteriorMoments(p).mean : -Infinity)));
  const barX = sign * bar;
  const side = direction === 'increase' ? 0 : 1;
  const m = live.length;
  const logNorms = live.map((p) => (p.kind === 'beta' ? 0 : -0.5 * Math.log(2 * Math.PI * p.variance)));
  const prefix = new Array<number>(m + 1).fill(1);
  const suffix = new Array<number>(m + 1).fill(1);
  const worse = new Array<number>(m).fill(0);
  const raw = integrateAdaptive(
    (x) => {
      if (!(sign * x > bar)) return live.map(() => 0);
      // worse[i] = P(arm i is on the losing side of x).
      live.forEach((p, i) => (worse[i] = tails(p, x)[side]));
      for (let i = 0; i < m; i++) prefix[i + 1] = (prefix[i] as number) * (worse[i] as number);
      for (let i = m - 1; i >= 0; i--) suffix[i] = (suffix[i + 1] as number) * (worse[i] as number);
      return live.map((p, j) => {
        const logF = p.kind === 'beta' ? betaLogPdf(x, p.alpha, p.beta) : (logNorms[j] as number) - (x - p.mean) ** 2 / (2 * p.variance);
        const others = (prefix[j] as number) * (suffix[j + 1] as number);
        return others > 0 ? Math.exp(logF) * others : 0;
      });
    },
    [...live.flatMap(breakpoints), ...(Number.isFinite(barX) ? [barX] : [])],
    m,
  );
  // P(every live arm falls short of the best point mass), shared by the point masses at it.
  const atBar = posteriors.filter((p, i) => point[i] && sign * posteriorMoments(p).mean === bar).length;
  const share = atBar > 0 ? live.reduce((a, p) => a * tails(p, barX)[side], 1) / atBar : 0;
  let next = 0;
  const out = posteriors.map((p, i) => (point[i] ? (sign * posteriorMoments(p).mean === bar ? share : 0) : (raw[next++] as number)));
  const total = out.reduce((a, b) => a + b, 0);
  return total > 0 ? out.map((v) => v / total) : out.map(() => 1 / k);
}

function probabilityBestByMean(posteriors: readonly Posterior[], direction: 'increase' | 'decrease'): number[] {
  // Every posterior is a point mass: the best mean wins, ties split.
  const means = posteriors.map((p) => posteriorMoments(p).mean * (direction === 'increase' ? 1 : -1));
  const best = Math.max(...means);
  const winners = means.filter((m) => m === best).length;
  return means.map((m) => (m === best ? 1 / winners : 0));
}

/** One joint draw from each posterior. */
export function drawPosterior(p: Posterior, rng: Rng): number {
  return p.kind === 'normal' ? p.mean + Math.sqrt(p.variance) * normalDraw(rng) : betaDraw(rng, p.alpha, p.beta);
}

/**
 * Seeded Monte Carlo of P(best) and the expected loss of choosing each arm, E[max_i θ_i − θ_j]
 * (or with signs flipped when lower is better).
 */
export function simulateArmPosteriors(posteriors: readonly Posterior[], options: { rng: Rng; draws?: number; direction?: 'increase' | 'decrease' }): { probabilityBest: number[]; expectedLoss: number[] } {
  const k = posteriors.length;
  const draws = options.draws ?? 100_000;
  const sign = options.direction === 'decrease' ? -1 : 1;
  const wins = new Array<number>(k).fill(0);
  const loss = new Array<number>(k).fill(0);
  const theta = new Array<number>(k).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = -Infinity;
    let arg = 0;
    for (let i = 0; i < k; i++) {
      const t = sign * drawPosterior(at(posteriors, i, 'posteriors'), options.rng);
      theta[i] = t;
      if (t > best) {
        best = t;
        arg = i;
      }
    }
    wins[arg] = at(wins, arg) + 1;
    for (let i = 0; i < k; i++) loss[i] = at(loss, i) + best - at(theta, i);
  }
  return { probabilityBest: wins.map((w) => w / draws), expectedLoss: loss.map((l) => l / draws) };
}

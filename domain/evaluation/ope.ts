/**
 * Off-policy estimators of a target policy's value from logged bandit data (Dudík, Langford, Li
 * 2011; Swaminathan & Joachims 2015), in the definitions Open Bandit Pipeline uses, so the point
 * estimates match `obp.ope` to 1e-6 (test/fixtures/ope/obp.json):
 *   w_i = π(a_i|x_i) / μ(a_i|x_i)  (μ = the logged propensity)
 *   IPS   = mean(w_i r_i)
 *   SNIPS = Σ w_i r_i / Σ w_i
 *   DR    = mean( Σ_a π(a|x_i) q̂(x_i,a) + w_i (r_i − q̂(x_i,a_i)) )
 * Intervals are normal (Wald) intervals from each estimator's influence function: the sample sd of
 * the per-round terms for IPS and DR, the delta method for SNIPS (a ratio estimator). obp gives only
 * bootstrap intervals, so the point estimates are what is cross-checked; coverage is checked by the
 * Monte-Carlo test over repeated synthetic datasets.
 * ESS = (Σ w)² / Σ w² (Kish): how many on-policy rounds the weighted sample is worth.
 */
import { at } from '../at.js';
import { twoSidedCritical } from '../stats/normal.js';

/** One logged round: the action taken (index into the action list), its logged propensity, the reward. */
export interface LoggedRound {
  action: number;
  propensity: number;
  reward: number;
}

export type OpeEstimator = 'ips' | 'snips' | 'dr';

export interface OpeEstimate {
  estimator: OpeEstimator;
  value: number;
  standardError: number;
  ci: [number, number];
  /** Kish effective sample size of the importance weights (the same for all three estimators). */
  effectiveSampleSize: number;
  n: number;
}

export type SupportWarning =
  | { kind: 'small-propensity'; threshold: number; rounds: number; minPropensity: number }
  | { kind: 'unlogged-action'; action: number; targetMass: number }
  | { kind: 'unsupported-mass'; targetMass: number }
  | { kind: 'low-ess'; effectiveSampleSize: number; n: number };

export interface OpeInput {
  rounds: readonly LoggedRound[];
  nActions: number;
  /** π(·|x_i): the target's probability of every action, per round (rows sum to 1). */
  target: readonly (readonly number[])[];
  /** q̂(x_i, ·): cross-fitted reward-model predictions per round and action; needed for DR. */
  estimatedRewards?: readonly (readonly number[])[];
  /** μ(·|x_i) when the logging policy's full distribution is known: measures unsupported target mass exactly. */
  logging?: readonly (readonly number[])[];
  alpha?: number;
  /** Propensities below this are flagged (default 0.01). */
  minPropensity?: number;
}

export interface OpeResult {
  estimates: OpeEstimate[];
  warnings: SupportWarning[];
}

/** Mean, sample variance (n−1) of an array. */
function meanVar(xs: readonly number[]): { mean: number; variance: number } {
  const n = xs.length;
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { mean, variance: n > 1 ? ss / (n - 1) : 0 };
}

function interval(value: number, se: number, alpha: number): [number, number] {
  const z = twoSidedCritical(alpha);
  return [value - z * se, value + z * se];
}

/** Importance weights π(a_i|x_i)/μ(a_i|x_i). Throws on a round whose propensity is not in (0, 1]. */
function importanceWeights(rounds: readonly LoggedRound[], target: readonly (readonly number[])[]): number[] {
  return rounds.map((r, i) => {
    if (!(r.propensity > 0 && r.propensity <= 1)) throw new RangeError(`round ${i}: propensity ${r.propensity} is not in (0, 1]`);
    const p = target[i]?.[r.action];
    if (p === undefined) throw new RangeError(`round ${i}: target has no probability for action ${r.action}`);
    return p / r.propensity;
  });
}

/** Kish effective sample size of a set of weights. */
function effectiveSampleSize(w: readonly number[]): number {
  let s = 0;
  let s2 = 0;
  for (const x of w) {
    s += x;
    s2 += x * x;
  }
  return s2 > 0 ? (s * s) / s2 : 0;
}

/** IPS, SNIPS and (when reward predictions are given) DR, with intervals, ESS and support warnings. */
export function estimatePolicyValue(input: OpeInput): OpeResult {
  const { rounds, target } = input;
  const n = rounds.length;
  if (n === 0) throw new RangeError('no logged rounds');
  if (target.length !== n) throw new RangeError(`target has ${target.length} rows for ${n} rounds`);
  const alpha = input.alpha ?? 0.05;
  const w = importanceWeights(rounds, target);
  const ess = effectiveSampleSize(w);
  const estimates: OpeEstimate[] = [];
  const make = (estimator: OpeEstimator, value: number, se: number): OpeEstimate => ({
    estimator,
    value,
    standardError: se,
    ci: interval(value, se, alpha),
    effectiveSampleSize: ess,
    n,
  });

  // w is per round (importanceWeights maps the rounds).
  const ipsTerms = rounds.map((r, i) => at(w, i, 'importance weights') * r.reward);
  const ips = meanVar(ipsTerms);
  estimates.push(make('ips', ips.mean, Math.sqrt(ips.variance / n)));

  const sumW = w.reduce((a, b) => a + b, 0);
  if (sumW > 0) {
    const value = ipsTerms.reduce((a, b) => a + b, 0) / sumW;
    // Delta method for a ratio of means: Var ≈ Σ w_i² (r_i − V)² / (Σ w_i)².
    let s = 0;
    rounds.forEach((r, i) => (s += (at(w, i, 'importance weights') * (r.reward - value)) ** 2));
    estimates.push(make('snips', value, Math.sqrt(s) / sumW));
  } else {
    // The target never takes a logged action: SNIPS is undefined; report it as IPS does (0 ± 0).
    estimates.push(make('snips', 0, 0));
  }

  if (input.estimatedRewards) {
    const q = input.estimatedRewards;
    if (q.length !== n) throw new RangeError(`estimatedRewards has ${q.length} rows for ${n} rounds`);
    const terms = rounds.map((r, i) => {
      const qi = at(q, i, 'estimatedRewards');
      const pi = at(target, i, 'target');
      let dm = 0;
      for (let a = 0; a < input.nActions; a++) dm += (pi[a] ?? 0) * (qi[a] ?? 0);
      return dm + at(w, i, 'importance weights') * (r.reward - (qi[r.action] ?? 0));
    });
    const dr = meanVar(terms);
    estimates.push(make('dr', dr.mean, Math.sqrt(dr.variance / n)));
  }
  return { estimates, warnings: supportWarnings(input, w, ess) };
}

/**
 * Poor support makes every estimator unreliable (IPS/DR blow up in variance; mass the logging
 * policy never gives is invisible to all three). Flags small propensities on rounds the target
 * weights, actions the target plays that were never logged, unsupported target mass when the logging
 * distribution is known, and an effective sample size below 10% of n.
 */
function supportWarnings(input: OpeInput, w: readonly number[], ess: number): SupportWarning[] {
  const out: SupportWarning[] = [];
  const n = input.rounds.length;
  const threshold = input.minPropensity ?? 0.01;
  let small = 0;
  let minP = 1;
  input.rounds.forEach((r, i) => {
    minP = Math.min(minP, r.propensity);
    if (r.propensity < threshold && at(w, i, 'importance weights') > 0) small++;
  });
  if (small > 0) out.push({ kind: 'small-propensity', threshold, rounds: small, minPropensity: minP });

  const logged = new Set(input.rounds.map((r) => r.action));
  for (let a = 0; a < input.nActions; a++) {
    if (logged.has(a)) continue;
    const mass = input.target.reduce((s, row) => s + (row[a] ?? 0), 0) / n;
    if (mass > 0) out.push({ kind: 'unlogged-action', action: a, targetMass: mass });
  }
  const { logging } = input;
  if (logging) {
    if (logging.length !== n) throw new RangeError(`logging has ${logging.length} rows for ${n} rounds`);
    let mass = 0;
    input.target.forEach((row, i) => {
      const mu = at(logging, i, 'logging');
      for (let a = 0; a < input.nActions; a++) if (!((mu[a] ?? 0) > 0)) mass += row[a] ?? 0;
    });
    if (mass > 0) out.push({ kind: 'unsupported-mass', targetMass: mass / n });
  }
  if (ess < 0.1 * n) out.push({ kind: 'low-ess', effectiveSampleSize: ess, n });
  return out;
}

/** One line per warning, for tables and logs. */
export function describeWarning(wn: SupportWarning, actions?: readonly string[]): string {
  const name = (a: number) => actions?.[a] ?? `action ${a}`;
  switch (wn.kind) {
    case 'small-propensity':
      return `${wn.rounds} weighted rounds have a logged propensity below ${wn.threshold} (min ${wn.minPropensity.toPrecision(3)}): high variance`;
    case 'unlogged-action':
      return `the target plays ${name(wn.action)} (${(100 * wn.targetMass).toFixed(1)}% of its mass) but the logs never took it: all estimators miss that mass`;
    case 'unsupported-mass':
      return `${(100 * wn.targetMass).toFixed(1)}% of the target's mass is on actions the logging policy gave probability 0`;
    case 'low-ess':
      return `effective sample size ${wn.effectiveSampleSize.toFixed(1)} is below 10% of ${wn.n} rounds`;
    default:
      return assertNever(wn);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}

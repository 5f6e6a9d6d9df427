/**
 * Off-policy evaluation of a target policy on an experiment's logged exposures: the rows of an
 * evaluation dataset for one metric become logged rounds (the variant served, its logged
 * propensity, the unit's outcome), the target becomes π(·|x) per round, and the reward model is
 * cross-fitted on the context attributes. Returns IPS, SNIPS and DR with intervals, ESS and
 * support warnings, plus the on-policy mean for reference.
 */
import type { AssignContext, ContextValue } from '../assignment/targeting.js';
import { at } from '../at.js';
import { createRng } from '../rng.js';
import type { MetricSpec, Moments, VariantRef, Weights } from '../types.js';
import { describeWarning, estimatePolicyValue, type OpeEstimate, type SupportWarning } from './ope.js';
import { crossFitRewardModel } from './reward-model.js';
import { resolveTargetPolicy, type TargetPolicy } from './target-policy.js';

/** One exposure × metric row of an evaluation dataset (the fields OPE uses). */
export interface EvaluationRow {
  variant: string;
  propensity: number;
  context: Record<string, ContextValue>;
  /** Weights of the unit's randomisation cell (segment × snapshot), when the snapshot is known. */
  loggingWeights: Weights | null;
  value: number;
}

export interface PolicyEvaluationInput {
  rows: readonly EvaluationRow[];
  variants: readonly VariantRef[];
  metric: MetricSpec;
  policy: TargetPolicy;
  alpha?: number;
  /** Context attributes for the reward model; default: every attribute that is numeric, boolean or a small categorical. */
  features?: readonly string[];
  seed?: number;
}

export interface PolicyEvaluation {
  metric: string;
  n: number;
  /** Mean outcome under the logging policy (the on-policy value of what ran). */
  loggedMean: number;
  estimates: OpeEstimate[];
  warnings: SupportWarning[];
  warningText: string[];
  features: string[];
  /** Rounds whose full logging distribution had to be approximated (no consistent snapshot weights). */
  approximateLogging: number;
}

/** Estimates what `policy` would have earned on the logged rows. */
export function evaluatePolicy(input: PolicyEvaluationInput): PolicyEvaluation {
  const keys = input.variants.map((v) => v.key);
  const rows = input.rows.filter((r) => keys.includes(r.variant));
  if (rows.length === 0) throw new RangeError(`no logged rows for metric '${input.metric.key}'`);
  const armStats: Record<string, Moments> = Object.fromEntries(keys.map((k) => [k, { n: 0, sum: 0, sumSquares: 0 }]));
  for (const r of rows) {
    const m = armStats[r.variant];
    if (!m) continue; // unreachable: rows were filtered to these keys above
    m.n++;
    m.sum += r.value;
    m.sumSquares += r.value * r.value;
  }
  const target = resolveTargetPolicy(input.policy, {
    variants: input.variants,
    armStats,
    metricType: input.metric.type,
    direction: input.metric.direction,
  });
  let approximate = 0;
  const logging = rows.map((r) => {
    const d = loggingDistribution(r, keys);
    if (d.approximate) approximate++;
    return d.probs;
  });
  const targetDist = rows.map((r, i) => target({ context: r.context as AssignContext, loggingDist: at(logging, i, 'logging distributions') }));
  const features = input.features ? [...input.features] : inferFeatures(rows);
  const encode = featureEncoder(rows, features);
  const actions = rows.map((r) => keys.indexOf(r.variant));
  const rewards = rows.map((r) => r.value);
  const q = crossFitRewardModel({ features: rows.map((r) => encode(r.context)), actions, rewards, nActions: keys.length }, { folds: 5, rng: createRng(input.seed ?? 1) });
  const result = estimatePolicyValue({
    rounds: rows.map((r, i) => ({ action: at(actions, i, 'actions'), propensity: r.propensity, reward: r.value })),
    nActions: keys.length,
    target: targetDist,
    estimatedRewards: q,
    logging,
    ...(input.alpha ? { alpha: input.alpha } : {}),
  });
  return {
    metric: input.metric.key,
    n: rows.length,
    loggedMean: rewards.reduce((a, b) => a + b, 0) / rows.length,
    estimates: result.estimates,
    warnings: result.warnings,
    warningText: result.warnings.map((w) => describeWarning(w, keys)),
    features,
    approximateLogging: approximate,
  };
}

/**
 * μ(·|x) of a round: its cell's snapshot weights when they agree with the logged propensity; else,
 * for two arms, the logged propensity and its complement (exact: a contextual leaf's weights); else
 * the logged propensity with the rest spread evenly (flagged approximate).
 */
export function loggingDistribution(row: Pick<EvaluationRow, 'variant' | 'propensity' | 'loggingWeights'>, keys: readonly string[]): { probs: number[]; approximate: boolean } {
  const w = row.loggingWeights;
  if (w && Math.abs((w[row.variant] ?? -1) - row.propensity) < 1e-6) {
    const total = keys.reduce((s, k) => s + (w[k] ?? 0), 0);
    if (total > 0) return { probs: keys.map((k) => (w[k] ?? 0) / total), approximate: false };
  }
  const rest = (1 - row.propensity) / Math.max(1, keys.length - 1);
  return { probs: keys.map((k) => (k === row.variant ? row.propensity : rest)), approximate: keys.length > 2 };
}

/** Attributes present in most rows whose values are numbers/booleans, or strings with at most 20 values. */
export function inferFeatures(rows: readonly EvaluationRow[]): string[] {
  const seen = new Map<string, { count: number; numeric: boolean; values: Set<string> }>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r.context)) {
      if (v === null || v === undefined) continue;
      const s = seen.get(k) ?? { count: 0, numeric: true, values: new Set<string>() };
      s.count++;
      if (typeof v === 'string') {
        s.numeric = false;
        if (s.values.size <= 20) s.values.add(v);
      }
      seen.set(k, s);
    }
  }
  return [...seen.entries()]
    .filter(([, s]) => s.count >= 0.5 * rows.length && (s.numeric || s.values.size <= 20))
    .map(([k]) => k)
    .sort();
}

/** Numbers and booleans as they are (missing → 0); strings one-hot over the values seen. */
function featureEncoder(rows: readonly EvaluationRow[], features: readonly string[]): (ctx: Record<string, ContextValue>) => number[] {
  const categories = new Map<string, string[]>();
  for (const f of features) {
    const values = new Set<string>();
    for (const r of rows) if (typeof r.context[f] === 'string') values.add(r.context[f] as string);
    if (values.size > 0) categories.set(f, [...values].sort());
  }
  return (ctx) =>
    features.flatMap((f) => {
      const cats = categories.get(f);
      const v = ctx[f];
      if (cats) return cats.map((c) => (v === c ? 1 : 0));
      return [typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : 0];
    });
}

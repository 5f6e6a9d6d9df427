/**
 * `expflow analyze --input file.json [--method frequentist|bayesian|sequential] [--alpha 0.05]`
 * Reads per-arm sufficient statistics, prints JSON results. Bad input → message naming the field on
 * stderr and exit code 2. Schema: docs/analyze.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { toJsonSafe } from '../domain/json-safe.js';
import {
  betaBinomialPosterior,
  checkSampleRatio,
  comparePosteriors,
  compareMeans,
  compareProportions,
  compareRatios,
  gaussianEffectPosterior,
  normalMeanPosterior,
  probabilityBest,
  ratioMeanWithVariance,
  sequentialEffect,
  DEFAULT_TUNING_N,
  type EffectEstimate,
  type Posterior,
} from '../domain/stats/index.js';

const nonNegative = z.number().finite().nonnegative();

const ArmSchema = z.object({
  key: z.string().min(1),
  // 10¹² units per arm is beyond any experiment; at 10¹⁴ the exact Beta comparison takes minutes.
  n: z.number().int().nonnegative().max(1e12, 'at most 10^12 units per arm'),
  sum: z.number().finite(),
  sumSquares: nonNegative.optional(),
  denSum: z.number().finite().optional(),
  denSumSquares: nonNegative.optional(),
  crossSum: z.number().finite().optional(),
});

/** At most `max` characters of a user-supplied value, for error messages (a 20 MB key is not echoed). */
function quote(value: string, max = 200): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value;
  return `'${shown}'${value.length > max ? ` (${value.length} characters)` : ''}`;
}

// Sums of squares arrive rounded (float accumulation over many units); a centred sum of squares that
// is negative by less than this share of its terms is taken as 0, more is an impossible input.
const ROUNDING = 1e-9;

/** Σ(x − x̄)² from sufficient statistics, or null when it is negative beyond rounding. */
function centredSquares(n: number, sum: number, sumSquares: number): number | null {
  if (n === 0) return sum === 0 && sumSquares === 0 ? 0 : null;
  const ss = sumSquares - (sum * sum) / n;
  return ss >= -ROUNDING * Math.max(sumSquares, (sum * sum) / n) ? Math.max(ss, 0) : null;
}

export const AnalyzeInputSchema = z
  .object({
    metric: z.object({
      type: z.enum(['binary', 'continuous', 'count', 'ratio']),
      direction: z.enum(['increase', 'decrease']).default('increase'),
    }),
    alpha: z.number().gt(0).lt(1).default(0.05),
    method: z.enum(['frequentist', 'bayesian', 'sequential']).default('frequentist'),
    tuningN: z.number().positive().default(DEFAULT_TUNING_N),
    control: z.string().min(1),
    arms: z.array(ArmSchema).min(1),
    periods: z.array(z.object({ weights: z.array(nonNegative).min(1), n: nonNegative })).optional(),
    srmThreshold: z.number().gt(0).lt(1).default(0.001),
  })
  .superRefine((v, ctx) => {
    // One pass with a Map: linear in the number of arms (indexOf per arm was quadratic).
    const firstIndex = new Map<string, number>();
    v.arms.forEach((a, i) => {
      const first = firstIndex.get(a.key);
      if (first === undefined) firstIndex.set(a.key, i);
      else ctx.addIssue({ code: 'custom', path: ['arms', i, 'key'], message: `duplicate arm key ${quote(a.key)} (first at arms.${first})` });
    });
    if (!firstIndex.has(v.control)) {
      const some = v.arms.slice(0, 5).map((a) => quote(a.key, 40));
      const more = v.arms.length > 5 ? `, … (${v.arms.length} arms)` : '';
      ctx.addIssue({ code: 'custom', path: ['control'], message: `control ${quote(v.control)} is not one of the arm keys (${some.join(', ')}${more})` });
    }
    const type = v.metric.type;
    v.arms.forEach((a, i) => {
      const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: ['arms', i, field], message });
      if ((type === 'binary' || type === 'count') && a.sum < 0) issue('sum', `must be ≥ 0 for a ${type} metric (got ${a.sum})`);
      if (type === 'binary' && a.sum > a.n) issue('sum', `conversions (sum = ${a.sum}) exceed n = ${a.n} for a binary metric`);
      if (type === 'binary' && a.sumSquares !== undefined && Math.abs(a.sumSquares - a.sum) > ROUNDING * Math.max(a.sum, 1)) {
        issue('sumSquares', `must equal sum for a binary (0/1) metric (got ${a.sumSquares}, sum ${a.sum})`);
      }
      if (type !== 'binary' && a.sumSquares === undefined) issue('sumSquares', `required for ${type} metrics`);
      if (type !== 'binary' && a.sumSquares !== undefined && centredSquares(a.n, a.sum, a.sumSquares) === null) {
        issue('sumSquares', a.n === 0 ? 'an arm with n = 0 must have sum = 0 and sumSquares = 0' : `below sum²/n = ${(a.sum * a.sum) / a.n} (a negative variance): got ${a.sumSquares}`);
      }
      if (type === 'ratio') {
        for (const f of ['denSum', 'denSumSquares', 'crossSum'] as const) {
          if (a[f] === undefined) issue(f, 'required for ratio metrics');
        }
        if (a.denSum !== undefined && a.denSumSquares !== undefined && a.sumSquares !== undefined && a.crossSum !== undefined) {
          const sxx = centredSquares(a.n, a.denSum, a.denSumSquares);
          const syy = centredSquares(a.n, a.sum, a.sumSquares);
          if (sxx === null) issue('denSumSquares', `below denSum²/n (a negative variance): got ${a.denSumSquares}`);
          else if (syy !== null && a.n > 0) {
            // Cauchy–Schwarz: the centred cross product cannot exceed √(Sxx·Syy).
            const sxy = a.crossSum - (a.sum * a.denSum) / a.n;
            const bound = Math.sqrt(sxx * syy);
            const scale = Math.sqrt(a.sumSquares * a.denSumSquares);
            if (Math.abs(sxy) > bound + ROUNDING * Math.max(scale, Math.abs(a.crossSum))) issue('crossSum', `inconsistent with the sums of squares (|centred cross product| ${Math.abs(sxy)} > ${bound})`);
          }
        }
      }
    });
    v.periods?.forEach((p, i) => {
      if (p.weights.length !== v.arms.length) ctx.addIssue({ code: 'custom', path: ['periods', i, 'weights'], message: `needs one weight per arm (${v.arms.length})` });
    });
  });

export type AnalyzeInput = z.infer<typeof AnalyzeInputSchema>;
type Arm = AnalyzeInput['arms'][number];

function effectFor(input: AnalyzeInput, control: Arm, arm: Arm): EffectEstimate {
  const moments = (a: Arm) => ({ n: a.n, sum: a.sum, sumSquares: a.sumSquares ?? a.sum });
  switch (input.metric.type) {
    case 'binary':
      return compareProportions({ n: control.n, successes: control.sum }, { n: arm.n, successes: arm.sum }, input.alpha);
    case 'continuous':
    case 'count':
      return compareMeans(moments(control), moments(arm), input.alpha);
    case 'ratio': {
      const ratio = (a: Arm) => ({ ...moments(a), denSum: a.denSum ?? 0, denSumSquares: a.denSumSquares ?? 0, crossSum: a.crossSum ?? 0 });
      return compareRatios(ratio(control), ratio(arm), input.alpha);
    }
  }
}

function posteriorFor(input: AnalyzeInput, a: Arm): Posterior | null {
  switch (input.metric.type) {
    case 'binary':
      return betaBinomialPosterior({ n: a.n, successes: a.sum });
    case 'continuous':
    case 'count':
      return normalMeanPosterior({ n: a.n, sum: a.sum, sumSquares: a.sumSquares ?? 0 });
    case 'ratio': {
      const r = ratioMeanWithVariance({ n: a.n, sum: a.sum, sumSquares: a.sumSquares ?? 0, denSum: a.denSum ?? 0, denSumSquares: a.denSumSquares ?? 0, crossSum: a.crossSum ?? 0 });
      return r && r.variance > 0 ? { kind: 'normal', mean: r.mean, variance: r.variance } : null;
    }
  }
}

/** Pure analysis of a validated input: one result per non-control arm, plus the SRM check. */
export function analyze(input: AnalyzeInput) {
  const controlIndex = input.arms.findIndex((a) => a.key === input.control);
  const control = input.arms[controlIndex];
  if (!control) throw new RangeError(`control ${quote(input.control)} is not an arm`);
  const posteriors = input.method === 'bayesian' ? input.arms.map((a) => posteriorFor(input, a)) : [];
  const pBest = posteriors.length > 0 && posteriors.every((p) => p !== null) ? probabilityBest(posteriors as Posterior[], input.metric.direction) : null;

  const results = input.arms.flatMap((arm, armIndex) => {
    if (armIndex === controlIndex) return [];
    let effect = effectFor(input, control, arm);
    if (input.method === 'sequential') effect = sequentialEffect(effect, control.n + arm.n, input.alpha, input.tuningN);
    const base = {
      arm: arm.key,
      estimate: effect.estimate,
      ci: effect.ci,
      relative: effect.relative ? { estimate: effect.relative.estimate, ci: effect.relative.ci } : null,
      ...(effect.relative === null && effect.relativeReason ? { relativeReason: effect.relativeReason } : {}),
      pValue: effect.pValue,
      controlMean: effect.controlMean,
      treatmentMean: effect.treatmentMean,
      ...(effect.reason ? { reason: effect.reason } : {}),
    };
    if (input.method === 'sequential') return [{ ...base, alwaysValid: true, tuningN: input.tuningN }];
    if (input.method === 'frequentist') return [base];
    const pc = posteriors[controlIndex];
    const pt = posteriors[armIndex];
    const post =
      pc && pt
        ? comparePosteriors(pc, pt, { alpha: input.alpha, direction: input.metric.direction })
        : gaussianEffectPosterior({ estimate: effect.estimate, variance: effect.standardError ** 2, alpha: input.alpha, direction: input.metric.direction });
    // The relative lift's interval must be a credible interval too, not the fixed-horizon t interval
    // (a Welch t quantile at small n): the flat-prior posterior of the delta-method lift, as gbstats'
    // EffectBayesianABTest(difference_type='relative') reports it.
    const rel = effect.relative;
    const relative = rel ? { estimate: rel.estimate, ci: gaussianEffectPosterior({ estimate: rel.estimate, variance: rel.standardError ** 2, alpha: input.alpha }).ci } : null;
    return [
      {
        ...base,
        relative,
        ci: post.ci,
        probabilityToBeatControl: post.probabilityToBeatControl,
        probabilityBest: pBest ? (pBest[armIndex] ?? null) : null,
        expectedLoss: post.expectedLoss,
        ...(post.reason ? { reason: post.reason } : {}),
      },
    ];
  });

  const observed = input.arms.map((a) => a.n);
  const periods = input.periods ?? [{ weights: input.arms.map(() => 1), n: observed.reduce((a, b) => a + b, 0) }];
  const srm = checkSampleRatio({ periods, observed, threshold: input.srmThreshold });
  return toJsonSafe({
    method: input.method,
    alpha: input.alpha,
    metric: input.metric,
    control: input.control,
    ...(input.method === 'bayesian' && pBest ? { controlProbabilityBest: pBest[controlIndex] } : {}),
    results,
    srm: { pValue: srm.pValue, statistic: srm.statistic, expected: srm.expected, observed: srm.observed, alarm: srm.alarm },
  });
}

class UsageError extends Error {}

const MAX_ISSUES = 20;

function formatIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, MAX_ISSUES).map((i) => `  ${i.path.length ? i.path.map((p) => quotePath(p)).join('.') : '(root)'}: ${clip(i.message)}`);
  if (error.issues.length > MAX_ISSUES) lines.push(`  … and ${error.issues.length - MAX_ISSUES} more`);
  return lines.join('\n');
}

function quotePath(p: PropertyKey): string {
  return typeof p === 'symbol' ? p.toString() : clip(String(p), 100);
}

/** A message built by a library may still carry input (e.g. an unrecognised key); keep it short. */
function clip(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

function main(argv: string[]): number {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { input: { type: 'string', short: 'i' }, method: { type: 'string', short: 'm' }, alpha: { type: 'string', short: 'a' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write('usage: expflow analyze --input file.json [--method frequentist|bayesian|sequential] [--alpha 0.05]\n');
      return 0;
    }
    if (!values.input) throw new UsageError('missing --input <file.json>');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(values.input, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read JSON from ${quote(values.input)}: ${clip((e as Error).message)}`);
    }
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const obj = raw as Record<string, unknown>;
      if (values.method !== undefined) obj.method = values.method;
      if (values.alpha !== undefined) obj.alpha = Number(values.alpha);
    }
    const parsed = AnalyzeInputSchema.safeParse(raw);
    if (!parsed.success) throw new UsageError(`invalid input:\n${formatIssues(parsed.error)}`);
    process.stdout.write(`${JSON.stringify(analyze(parsed.data), null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`expflow analyze: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = main(process.argv.slice(2));
}

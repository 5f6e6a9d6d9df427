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
  n: nonNegative,
  sum: z.number().finite(),
  sumSquares: nonNegative.optional(),
  denSum: z.number().finite().optional(),
  denSumSquares: nonNegative.optional(),
  crossSum: z.number().finite().optional(),
});

const AnalyzeInputSchema = z
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
    const keys = v.arms.map((a) => a.key);
    if (!keys.includes(v.control)) ctx.addIssue({ code: 'custom', path: ['control'], message: `control '${v.control}' is not one of the arm keys (${keys.join(', ')})` });
    keys.forEach((k, i) => {
      if (keys.indexOf(k) !== i) ctx.addIssue({ code: 'custom', path: ['arms', i, 'key'], message: `duplicate arm key '${k}'` });
    });
    v.arms.forEach((a, i) => {
      if (v.metric.type === 'binary' && a.sum > a.n) ctx.addIssue({ code: 'custom', path: ['arms', i, 'sum'], message: 'conversions (sum) exceed n for a binary metric' });
      if (v.metric.type !== 'binary' && a.sumSquares === undefined) ctx.addIssue({ code: 'custom', path: ['arms', i, 'sumSquares'], message: `required for ${v.metric.type} metrics` });
      if (v.metric.type === 'ratio') {
        for (const f of ['denSum', 'denSumSquares', 'crossSum'] as const) {
          if (a[f] === undefined) ctx.addIssue({ code: 'custom', path: ['arms', i, f], message: 'required for ratio metrics' });
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
function analyze(input: AnalyzeInput) {
  const control = input.arms.find((a) => a.key === input.control)!;
  const others = input.arms.filter((a) => a.key !== input.control);
  const posteriors = input.method === 'bayesian' ? input.arms.map((a) => posteriorFor(input, a)) : [];
  const pBest = posteriors.length > 0 && posteriors.every((p) => p !== null) ? probabilityBest(posteriors as Posterior[], input.metric.direction) : null;

  const results = others.map((arm) => {
    let effect = effectFor(input, control, arm);
    if (input.method === 'sequential') effect = sequentialEffect(effect, control.n + arm.n, input.alpha, input.tuningN);
    const base = {
      arm: arm.key,
      estimate: effect.estimate,
      ci: effect.ci,
      relative: effect.relative ? { estimate: effect.relative.estimate, ci: effect.relative.ci } : null,
      pValue: effect.pValue,
      controlMean: effect.controlMean,
      treatmentMean: effect.treatmentMean,
      ...(effect.reason ? { reason: effect.reason } : {}),
    };
    if (input.method === 'sequential') return { ...base, alwaysValid: true, tuningN: input.tuningN };
    if (input.method === 'frequentist') return base;
    const pc = posteriors[input.arms.indexOf(control)];
    const pt = posteriors[input.arms.indexOf(arm)];
    const post =
      pc && pt
        ? comparePosteriors(pc, pt, { alpha: input.alpha, direction: input.metric.direction })
        : gaussianEffectPosterior({ estimate: effect.estimate, variance: effect.standardError ** 2, alpha: input.alpha, direction: input.metric.direction });
    return {
      ...base,
      ci: post.ci,
      probabilityToBeatControl: post.probabilityToBeatControl,
      probabilityBest: pBest ? pBest[input.arms.indexOf(arm)] : null,
      expectedLoss: post.expectedLoss,
      ...(post.reason ? { reason: post.reason } : {}),
    };
  });

  const observed = input.arms.map((a) => a.n);
  const periods = input.periods ?? [{ weights: input.arms.map(() => 1), n: observed.reduce((a, b) => a + b, 0) }];
  const srm = checkSampleRatio({ periods, observed, threshold: input.srmThreshold });
  return toJsonSafe({
    method: input.method,
    alpha: input.alpha,
    metric: input.metric,
    control: input.control,
    ...(input.method === 'bayesian' && pBest ? { controlProbabilityBest: pBest[input.arms.indexOf(control)] } : {}),
    results,
    srm: { pValue: srm.pValue, statistic: srm.statistic, expected: srm.expected, observed: srm.observed, alarm: srm.alarm },
  });
}

class UsageError extends Error {}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
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
      throw new UsageError(`cannot read JSON from ${values.input}: ${(e as Error).message}`);
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

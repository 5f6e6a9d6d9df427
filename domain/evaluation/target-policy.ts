/**
 * Target policies for off-policy evaluation, as a user writes them in a `--policy` file or a
 * `POST /evaluations` body, and their action probabilities π(a|x) on each logged round:
 *   fixed       — the same weights for everyone;
 *   always      — one arm for everyone;
 *   uniform     — equal weights;
 *   logging     — the policy that ran (each round's own logged distribution): the on-policy baseline;
 *   bandit      — the weights a bandit policy of domain/allocation would set from the logged per-arm
 *                 outcomes (Thompson is Monte Carlo with a seeded rng, so the weights are reproducible);
 *   contextual  — first matching rule over context attributes (the targeting rule language) decides
 *                 the weights, else `otherwise`.
 */
import { z } from 'zod';
import { computeAllocation, type AllocationPolicy } from '../allocation/index.js';
import { evaluateRule, type AssignContext } from '../assignment/targeting.js';
import { ruleSchema } from '../experiment/config.js';
import { createRng } from '../rng.js';
import type { Moments, VariantRef, Weights } from '../types.js';

const weightsSchema = z.record(z.string().min(1), z.number().finite().min(0)).refine((w) => Object.values(w).some((v) => v > 0), 'weights need at least one positive entry');
/** A rule's action: explicit weights, or one arm. */
const choiceSchema = z.union([z.object({ arm: z.string().min(1) }), z.object({ weights: weightsSchema })]);

export const targetPolicySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), weights: weightsSchema }),
  z.object({ kind: z.literal('always'), arm: z.string().min(1) }),
  z.object({ kind: z.literal('uniform') }),
  z.object({ kind: z.literal('logging') }),
  z.object({
    kind: z.literal('bandit'),
    policy: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('thompson'), topTwo: z.number().min(0).max(1).optional() }),
      z.object({ kind: z.literal('ucb1'), c: z.number().positive().optional() }),
      z.object({ kind: z.literal('epsilon_greedy'), epsilon: z.number().min(0).max(1).default(0.1) }),
    ]),
    bounds: z.object({ floor: z.number().min(0).max(0.5).default(0), max: z.number().min(0).max(1).default(1) }).default({ floor: 0, max: 1 }),
    seed: z.number().int().default(1),
  }),
  z.object({
    kind: z.literal('contextual'),
    rules: z.array(z.object({ when: ruleSchema }).and(choiceSchema)).min(1).max(100),
    otherwise: choiceSchema,
  }),
]);

export type TargetPolicy = z.infer<typeof targetPolicySchema>;

/** What resolving a target needs to know about the logged data. */
export interface TargetContext {
  /** Action list (variant keys) in index order; the control variant is marked. */
  variants: readonly VariantRef[];
  /** Logged per-arm outcome moments (bandit targets only). */
  armStats: Readonly<Record<string, Moments>>;
  metricType: 'binary' | 'continuous' | 'count';
  direction: 'increase' | 'decrease';
}

/** A target policy's π(·|x) for each round. */
export type TargetProbabilities = (round: { context: AssignContext; loggingDist: readonly number[] }) => number[];

export class TargetPolicyError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** Resolves a validated target against the experiment's arms; throws TargetPolicyError naming the field. */
export function resolveTargetPolicy(policy: TargetPolicy, ctx: TargetContext): TargetProbabilities {
  const keys = ctx.variants.map((v) => v.key);
  const vector = (w: Weights, path: string): number[] => {
    for (const k of Object.keys(w)) if (!keys.includes(k)) throw new TargetPolicyError(path, `unknown arm '${k}' (arms: ${keys.join(', ')})`);
    const total = keys.reduce((s, k) => s + (w[k] ?? 0), 0);
    return keys.map((k) => (w[k] ?? 0) / total);
  };
  const oneArm = (arm: string, path: string) => vector({ [arm]: 1 }, path);
  const choice = (c: z.infer<typeof choiceSchema>, path: string) => ('arm' in c ? oneArm(c.arm, `${path}.arm`) : vector(c.weights, `${path}.weights`));

  switch (policy.kind) {
    case 'fixed': {
      const p = vector(policy.weights, 'policy.weights');
      return () => p;
    }
    case 'always': {
      const p = oneArm(policy.arm, 'policy.arm');
      return () => p;
    }
    case 'uniform': {
      const p = keys.map(() => 1 / keys.length);
      return () => p;
    }
    case 'logging':
      return ({ loggingDist }) => [...loggingDist];
    case 'bandit': {
      const p = vector(banditWeights(policy, ctx), 'policy');
      return () => p;
    }
    case 'contextual': {
      const rules = policy.rules.map((r, i) => ({ when: r.when, p: choice(r, `policy.rules.${i}`) }));
      const otherwise = choice(policy.otherwise, 'policy.otherwise');
      return ({ context }) => rules.find((r) => evaluateRule(r.when, context))?.p ?? otherwise;
    }
    default:
      return assertNever(policy);
  }
}

/** The weights the bandit would set from the logged per-arm outcomes (one reallocation from scratch). */
function banditWeights(policy: Extract<TargetPolicy, { kind: 'bandit' }>, ctx: TargetContext): Weights {
  const p = policy.policy;
  let allocation: AllocationPolicy;
  switch (p.kind) {
    case 'thompson':
      allocation = { kind: 'thompson', model: ctx.metricType === 'binary' ? 'bernoulli' : 'gaussian', ...(p.topTwo === undefined ? {} : { topTwo: p.topTwo }) };
      break;
    case 'ucb1':
      allocation = { kind: 'ucb1', ...(p.c === undefined ? {} : { c: p.c }) };
      break;
    case 'epsilon_greedy':
      allocation = { kind: 'epsilon_greedy', epsilon: p.epsilon };
      break;
    default:
      return assertNever(p);
  }
  return computeAllocation({
    policy: allocation,
    variants: ctx.variants,
    stats: ctx.armStats,
    previous: null,
    bounds: { floor: policy.bounds.floor, max: policy.bounds.max, maxChange: 1, minUnitsPerArm: 0 },
    rng: createRng(policy.seed),
    now: 0,
    direction: ctx.direction,
  }).weights;
}

function assertNever(x: never): never {
  throw new Error(`unhandled target policy ${JSON.stringify(x)}`);
}

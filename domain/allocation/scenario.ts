/**
 * Simulator scenario: synthetic arms, optional per-segment effects and drift, and the policies to
 * compare. The zod schema is the single source of the type and of the error messages the CLI shows.
 */
import { z } from 'zod';

const fraction = z.number().min(0).max(1);

const armSchema = z.object({
  key: z.string().min(1),
  /** Success rate (bernoulli) or mean (gaussian) before segment effects and drift. */
  mean: z.number(),
  /** Outcome standard deviation (gaussian only). */
  sd: z.number().positive().default(1),
  control: z.boolean().default(false),
});

const segmentSchema = z.object({
  name: z.string().min(1),
  /** Relative share of traffic; shares are normalised. */
  share: z.number().positive(),
  /** Additive effect on an arm's mean in this segment, e.g. {"treatment": -0.03}. */
  effects: z.record(z.string(), z.number()).default({}),
});

const boundsSchema = z
  .object({
    floor: fraction,
    max: fraction,
    maxChange: fraction,
    minUnitsPerArm: z.number().int().min(0),
  })
  .partial();

/** Policies the simulator can run (ramp changes coverage, not arms, so it is not simulated). */
const simPolicySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), label: z.string().optional(), weights: z.record(z.string(), z.number().min(0)).optional() }),
  z.object({
    kind: z.literal('thompson'),
    label: z.string().optional(),
    /** Accepted for old scenario files and ignored: P(best) is computed exactly (issue 14). */
    draws: z.number().int().min(10).max(100_000).optional(),
    topTwo: z.number().gt(0).lt(1).optional(),
  }),
  z.object({ kind: z.literal('ucb1'), label: z.string().optional(), c: z.number().positive().optional(), scale: z.number().positive().optional() }),
  z.object({ kind: z.literal('epsilon_greedy'), label: z.string().optional(), epsilon: fraction }),
  z.object({
    kind: z.literal('contextual'),
    label: z.string().optional(),
    treatment: z.string().optional(),
    baseline: fraction.default(0.5),
    adjustment: z.object({ down: fraction, up: fraction }).default({ down: 0.4, up: 0.4 }),
    riskTolerance: z.number().min(0).default(0),
    floor: z.number().min(0).max(0.5).default(0.05),
    z: z.number().positive().optional(),
    maxRows: z.number().int().min(100).max(20_000).optional(),
    maxDepth: z.number().int().min(1).max(8).optional(),
    minNodeRows: z.number().int().min(2).optional(),
    minLeafRows: z.number().int().min(1).optional(),
    minArmRows: z.number().int().min(2).optional(),
  }),
]);

const scenarioSchema = z
  .object({
    name: z.string().default('scenario'),
    seed: z.union([z.number().int(), z.string()]).default(1),
    outcome: z.enum(['bernoulli', 'gaussian']),
    /** Units per run. */
    horizon: z.number().int().positive().max(10_000_000),
    /** Units per cycle: weights are recomputed between batches (δ). */
    batchSize: z.number().int().positive(),
    runs: z.number().int().positive().max(10_000).default(10),
    arms: z.array(armSchema).min(2),
    segments: z.array(segmentSchema).min(1).optional(),
    /** Total additive change of an arm's mean over the horizon (linear drift). */
    drift: z.record(z.string(), z.number()).optional(),
    bounds: boundsSchema.optional(),
    policies: z.array(simPolicySchema).min(1),
  })
  .superRefine((s, ctx) => {
    const keys = new Set(s.arms.map((a) => a.key));
    if (keys.size !== s.arms.length) ctx.addIssue({ code: 'custom', path: ['arms'], message: 'arm keys must be unique' });
    if (s.arms.filter((a) => a.control).length > 1) ctx.addIssue({ code: 'custom', path: ['arms'], message: 'at most one arm may be the control' });
    if (s.outcome === 'bernoulli') {
      s.arms.forEach((a, i) => {
        if (a.mean < 0 || a.mean > 1) ctx.addIssue({ code: 'custom', path: ['arms', i, 'mean'], message: 'bernoulli mean must be in [0,1]' });
      });
    }
    if (s.batchSize > s.horizon) ctx.addIssue({ code: 'custom', path: ['batchSize'], message: 'batchSize must not exceed horizon' });
    s.segments?.forEach((seg, i) => {
      for (const k of Object.keys(seg.effects)) {
        if (!keys.has(k)) ctx.addIssue({ code: 'custom', path: ['segments', i, 'effects', k], message: `unknown arm '${k}'` });
      }
    });
    for (const k of Object.keys(s.drift ?? {})) {
      if (!keys.has(k)) ctx.addIssue({ code: 'custom', path: ['drift', k], message: `unknown arm '${k}'` });
    }
    s.policies.forEach((p, i) => {
      if (p.kind === 'contextual') {
        if (s.batchSize < 100) ctx.addIssue({ code: 'custom', path: ['batchSize'], message: 'contextual policies refit a tree every batch; use batchSize ≥ 100' });
        if (p.treatment !== undefined && !keys.has(p.treatment)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'treatment'], message: `unknown arm '${p.treatment}'` });
      }
      if (p.kind === 'fixed' && p.weights) {
        for (const k of Object.keys(p.weights)) if (!keys.has(k)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'weights', k], message: `unknown arm '${k}'` });
      }
    });
  });

/** A validated scenario (defaults filled in). */
export type Scenario = z.output<typeof scenarioSchema>;
/** A scenario as written in JSON (defaults optional). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type SimPolicy = z.output<typeof simPolicySchema>;

/** Validate a scenario; on failure the message names the offending field, e.g. `arms[1].mean: ...`. */
export function parseScenario(input: unknown): { ok: true; scenario: Scenario } | { ok: false; errors: string[] } {
  const r = scenarioSchema.safeParse(input);
  if (r.success) return { ok: true, scenario: r.data };
  return { ok: false, errors: r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) };
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/**
 * What an offline evaluation asks for, shared by `expflow evaluate`, `POST /evaluations` and the
 * evaluation workflow. One schema, validated at every edge; errors name the field.
 *   export  — a tracked dataset for an entity, experiment or model version and a time range;
 *   window  — running-window comparison of every arm with control (and per segment);
 *   replay  — the experiment's decisions re-run offline, cycle by cycle;
 *   policy  — off-policy estimates of one or more target policies (default: the standard
 *             alternatives — every arm always, uniform, and the policy that ran).
 */
import { z } from 'zod';
import { isStorableTime, STORABLE_TIME_MESSAGE } from '../storable-time.js';
import { targetPolicySchema, type TargetPolicy } from './target-policy.js';

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_DURATION_SECONDS = 3650 * 86_400;

/** '7d' | '12h' | '30m' | '90s' → seconds. */
export function parseDuration(s: string): number {
  const m = DURATION.exec(s);
  if (!m) throw new RangeError(`'${s}' is not a duration like 7d, 12h, 30m or 90s`);
  const unit = m[2] !== undefined ? UNIT[m[2]] : undefined;
  if (unit === undefined) throw new RangeError(`'${s}' is not a duration like 7d, 12h, 30m or 90s`);
  return Number(m[1]) * unit;
}

const duration = z
  .string()
  .regex(DURATION, 'use a duration like 7d, 12h, 30m or 90s')
  .refine((s) => !DURATION.test(s) || parseDuration(s) > 0, 'must be positive')
  // Longer than the storable time range means nothing, and its window start overflowed Date (a 500).
  .refine((s) => !DURATION.test(s) || parseDuration(s) <= MAX_DURATION_SECONDS, 'at most 3650d');
const key = z.string().min(1).max(200);
// An ISO-8601 string (or epoch milliseconds); coercion alone took `true` as 1 ms after 1970.
const dateInput = z.union([z.string(), z.number()], { error: 'not a date (use ISO 8601, e.g. 2026-11-30T00:00:00Z)' }).pipe(z.coerce.date({ error: 'not a date (use ISO 8601, e.g. 2026-11-30T00:00:00Z)' }));

export const evaluationRequestSchema = z
  .object({
    kind: z.enum(['export', 'window', 'replay', 'policy']),
    experiment: key.optional(),
    entity: key.optional(),
    modelVersion: key.optional(),
    from: dateInput.optional(),
    to: dateInput.optional(),
    formats: z.array(z.enum(['ndjson', 'parquet'])).min(1).default(['ndjson', 'parquet']),
    window: duration.default('7d'),
    step: duration.default('1d'),
    segments: z.boolean().default(false),
    metric: z.string().regex(/^[a-z0-9_]{1,40}$/).optional(),
    policies: z.array(targetPolicySchema).min(1).max(20).optional(),
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Evaluate a registered dataset (by id) instead of exporting the range again. */
    dataset: z.string().uuid().optional(),
  })
  .superRefine((r, ctx) => {
    const scopes = (['experiment', 'entity', 'modelVersion'] as const).filter((k) => r[k] !== undefined);
    if (scopes.length !== 1) ctx.addIssue({ code: 'custom', path: ['experiment'], message: 'give exactly one of experiment, entity or modelVersion' });
    if (r.kind !== 'export' && r.experiment === undefined) ctx.addIssue({ code: 'custom', path: ['experiment'], message: `required for kind '${r.kind}'` });
    if (r.dataset !== undefined && r.kind === 'export') ctx.addIssue({ code: 'custom', path: ['dataset'], message: 'an export makes a dataset; give a range instead' });
    if (r.dataset !== undefined && r.kind === 'replay') ctx.addIssue({ code: 'custom', path: ['dataset'], message: 'replay reads the logs and stored cycles, not a dataset' });
    if (r.dataset !== undefined && (r.from || r.to)) ctx.addIssue({ code: 'custom', path: ['dataset'], message: 'a dataset has its own range; omit from/to' });
    if (r.from && r.to && !(r.from.getTime() < r.to.getTime())) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to' });
    for (const f of ['from', 'to'] as const) {
      const t = r[f]?.getTime();
      if (t === undefined) continue;
      if (Number.isNaN(t)) ctx.addIssue({ code: 'custom', path: [f], message: 'not a date' });
      else if (!isStorableTime(t)) ctx.addIssue({ code: 'custom', path: [f], message: STORABLE_TIME_MESSAGE });
    }
  });

export type EvaluationRequest = z.infer<typeof evaluationRequestSchema>;

/** The "what if" set: each arm always, uniform, and the policy that ran. */
export function standardAlternatives(arms: readonly string[]): Array<{ label: string; policy: TargetPolicy }> {
  return [
    { label: 'current policy', policy: { kind: 'logging' } },
    { label: 'uniform', policy: { kind: 'uniform' } },
    ...arms.map((arm) => ({ label: `always ${arm}`, policy: { kind: 'always', arm } as TargetPolicy })),
  ];
}

/** A short human label for a target policy. */
export function policyLabel(p: TargetPolicy): string {
  switch (p.kind) {
    case 'fixed':
      return `fixed ${Object.entries(p.weights).map(([k, v]) => `${k}=${v}`).join(',')}`;
    case 'always':
      return `always ${p.arm}`;
    case 'uniform':
      return 'uniform';
    case 'logging':
      return 'current policy';
    case 'bandit':
      return `bandit ${p.policy.kind}`;
    case 'contextual':
      return `contextual (${p.rules.length} rules)`;
    default: {
      const never: never = p;
      throw new Error(`unhandled target policy ${JSON.stringify(never)}`);
    }
  }
}

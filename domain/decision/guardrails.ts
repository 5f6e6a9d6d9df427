/**
 * Guardrails and the per-arm circuit breaker. A guardrail is breached by an arm when
 *   - relative margin: the arm is significantly worse than control (Holm across arms × metrics) and
 *     the whole always-valid interval of the relative change lies beyond −margin; or
 *   - absolute limit: the whole always-valid interval of the arm's own mean lies beyond the limit
 *     (e.g. mean latency ≤ 100 ms). A guardrail with a limit and no margin is judged by the limit only. Metrics are per-unit sums, so limits apply to means; expflow does
 *     not collect percentiles.
 * A breached arm is stopped (routed to control) at once; the others continue.
 */
import { meanOf, proportionVarianceOf, sampleVarianceOf, addMoments, emptyMoments } from '../stats/moments.js';
import { asymptoticConfidenceSequence, DEFAULT_TUNING_N } from '../stats/sequential.js';
import type { CellStats, MetricSpec } from '../types.js';
import { fmt, pct, type RuleNote } from './rule-note.js';
import type { ArmMetricResult } from './types.js';

export interface GuardrailBreach {
  arm: string;
  metric: string;
  kind: 'margin' | 'limit';
  note: RuleNote;
}

/** Always-valid interval of one arm's mean on one metric (pooled over its cells). */
function armMeanInterval(cells: readonly CellStats[], metric: MetricSpec, arm: string, alpha: number, tuningN = DEFAULT_TUNING_N): { mean: number; n: number; ci: [number, number] | null } {
  let m = emptyMoments();
  for (const c of cells) if (c.metric === metric.key && c.variant === arm) m = addMoments(m, c.moments);
  if (m.n < 2) return { mean: m.n ? meanOf(m) : NaN, n: m.n, ci: null };
  const variance = (metric.type === 'binary' ? proportionVarianceOf(m) : sampleVarianceOf(m)) / m.n;
  const cs = asymptoticConfidenceSequence({ estimate: meanOf(m), variance, n: m.n, alpha, tuningN });
  return { mean: meanOf(m), n: m.n, ci: cs.ci };
}

/** Breaches of every guardrail by the given arms (results already adjusted and classified). */
export function guardrailBreaches(input: {
  results: readonly ArmMetricResult[];
  metrics: readonly MetricSpec[];
  cells: readonly CellStats[];
  arms: readonly string[];
  alpha: number;
  tuningN?: number;
}): GuardrailBreach[] {
  const out: GuardrailBreach[] = [];
  for (const metric of input.metrics.filter((m) => m.role === 'guardrail')) {
    for (const arm of input.arms) {
      const r = input.results.find((x) => x.arm === arm && x.metric === metric.key);
      // A guardrail with only an absolute limit is judged by the limit alone.
      const relativeRule = metric.margin !== undefined || metric.limit === undefined;
      if (relativeRule && r?.harmful) {
        const rel = r.relative ? `relative change ${pct(r.relative.estimate)} [${pct(r.relative.ci[0])}, ${pct(r.relative.ci[1])}]` : `change ${fmt(r.estimate)}`;
        out.push({
          arm,
          metric: metric.key,
          kind: 'margin',
          note: { rule: 'guardrail', rationale: `${arm} breaches guardrail ${metric.key}: ${rel} beyond the ${pct(metric.margin ?? 0)} margin (adjusted p=${fmt(r.adjustedP ?? r.pValue)})` },
        });
        continue;
      }
      const limit = metric.limit;
      if (!limit) continue;
      const { mean, n, ci } = armMeanInterval(input.cells, metric, arm, input.alpha, input.tuningN);
      if (!ci) continue;
      const above = limit.max !== undefined && ci[0] > limit.max;
      const below = limit.min !== undefined && ci[1] < limit.min;
      if (above || below) {
        const bound = above ? `≤ ${limit.max}` : `≥ ${limit.min}`;
        out.push({
          arm,
          metric: metric.key,
          kind: 'limit',
          note: { rule: 'guardrail', rationale: `${arm} breaches guardrail ${metric.key} ${bound}: mean ${fmt(mean)} with always-valid interval [${fmt(ci[0])}, ${fmt(ci[1])}] over ${n} units` },
        });
      }
    }
  }
  return out;
}

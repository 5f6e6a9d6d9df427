/**
 * Shared core of the decision rules: always-valid comparison of each variant with control on each
 * metric (stratified by segment and allocation period, so bandit reallocation does not bias it), multiplicity adjustment, and
 * classification into better / harmful.
 */
import { at } from '../at.js';
import { adjustPValues, type AdjustmentMethod } from '../stats/multiple-testing.js';
import { stratifiedDifference } from '../stats/adaptive.js';
import { DEFAULT_TUNING_N, sequentialEffect } from '../stats/sequential.js';
import type { CellStats, MetricSpec } from '../types.js';
import type { ArmMetricResult } from './types.js';

/** Raw always-valid results (adjustedP, better, harmful still unset). */
export function analyzeArms(input: { metrics: readonly MetricSpec[]; cells: readonly CellStats[]; control: string; variants: readonly string[]; alpha: number; tuningN?: number }): ArmMetricResult[] {
  const out: ArmMetricResult[] = [];
  for (const metric of input.metrics) {
    const cells = input.cells.filter((c) => c.metric === metric.key);
    for (const arm of input.variants) {
      if (arm === input.control) continue;
      const strat = stratifiedDifference(cells, {
        metricType: metric.type,
        control: input.control,
        treatment: arm,
        alpha: input.alpha,
        // Propensities are constant only within (assignment segment, allocation period).
        strata: 'segment-period',
      });
      const seq = sequentialEffect(strat, strat.n, input.alpha, input.tuningN ?? DEFAULT_TUNING_N);
      out.push({
        arm,
        metric: metric.key,
        role: metric.role,
        direction: metric.direction,
        controlN: strat.controlN,
        treatmentN: strat.treatmentN,
        controlMean: seq.controlMean,
        treatmentMean: seq.treatmentMean,
        estimate: seq.estimate,
        ci: seq.ci,
        relative: seq.relative ? { estimate: seq.relative.estimate, ci: seq.relative.ci } : null,
        pValue: seq.pValue,
        adjustedP: null,
        better: false,
        harmful: false,
        reason: seq.reason ?? null,
      });
    }
  }
  return out;
}

/** Adjusts primary + guardrail p-values as one family, in place; secondaries keep adjustedP = null. */
export function adjustFamily(results: ArmMetricResult[], method: AdjustmentMethod): void {
  const family = results.filter((r) => r.role !== 'secondary');
  const adjusted = adjustPValues(family.map((r) => r.pValue), method);
  family.forEach((r, i) => (r.adjustedP = at(adjusted, i, 'adjusted p-values')));
}

/**
 * Marks better/harmful in place. Good side = sign of the effect in the metric's good direction.
 * Guardrail harm must also exceed the margin: the whole relative CI lies beyond −margin on the bad side.
 */
export function classify(results: ArmMetricResult[], metrics: readonly MetricSpec[], alpha: number): void {
  const byKey = new Map(metrics.map((m) => [m.key, m]));
  for (const r of results) {
    if (r.adjustedP === null || r.ci === null) continue;
    const sign = r.direction === 'increase' ? 1 : -1;
    const significant = r.adjustedP < alpha;
    const goodLow = Math.min(sign * r.ci[0], sign * r.ci[1]);
    const goodHigh = Math.max(sign * r.ci[0], sign * r.ci[1]);
    r.better = significant && goodLow > 0;
    let harmful = significant && goodHigh < 0;
    const spec = byKey.get(r.metric);
    const margin = spec?.margin ?? 0;
    // A guardrail with only an absolute limit is judged against the limit (decision/guardrails.ts).
    if (r.role === 'guardrail' && spec?.limit && spec.margin === undefined) harmful = false;
    if (harmful && r.role === 'guardrail' && margin > 0) {
      // Harm must be significantly beyond the tolerated relative loss.
      const bounds = relativeBounds(r);
      harmful = bounds !== null && Math.max(...bounds.map((b) => sign * b)) < -margin;
    }
    r.harmful = harmful;
  }
}

/**
 * The relative interval used to judge a guardrail margin. When the relative lift has no interval of its
 * own but the control mean is non-zero (a treatment mean of 0: the delta-method variance vanishes), the
 * always-valid absolute interval over the control mean stands in: with m̄_c taken as known, Δ/m̄_c is
 * the relative lift. With no control mean there is no relative scale, and harm beyond a margin cannot
 * be shown.
 */
function relativeBounds(r: ArmMetricResult): number[] | null {
  if (r.relative) return r.relative.ci;
  if (r.ci && r.controlMean !== 0) return r.ci.map((b) => b / r.controlMean);
  return null;
}

/** Effect in the good direction, relative when the control mean allows, used to rank shippable variants. */
export function goodLift(r: ArmMetricResult): number {
  const sign = r.direction === 'increase' ? 1 : -1;
  if (r.relative) return sign * r.relative.estimate;
  return sign * (r.controlMean !== 0 ? r.estimate / r.controlMean : r.estimate);
}

/**
 * Results by the values of each context factor (hour and weekday of exposure, external signals and
 * attributes logged on exposures). Within a value, cells stay split by (segment, period), so the
 * estimate is the same stratified, always-valid one the decisions use. The intervals are per value
 * and not corrected across values: a breakdown points at where to look, the segment rules decide.
 */
import type { CellStats, MetricSpec } from '../types.js';
import { addMoments } from '../stats/moments.js';
import { estimateArms, type ArmEstimate, type EstimateOptions } from './estimates.js';

/** A collected cell of the units whose `factor` had `value` at exposure. */
export interface FactorCell extends CellStats {
  factor: string;
  value: string;
}

export interface FactorValue {
  value: string;
  units: number;
  arms: ArmEstimate[];
  /** Primary metric: an arm's always-valid interval lies wholly on the good or bad side. */
  signal: Array<{ arm: string; direction: 'better' | 'worse' }>;
}

export interface FactorBreakdown {
  factor: string;
  values: FactorValue[];
  /** Values beyond `maxValues` were pooled into "(other)". */
  folded: number;
}

export const OTHER_VALUE = '(other)';

export function breakdownByFactor(cells: readonly FactorCell[], o: EstimateOptions & { maxValues?: number }): FactorBreakdown[] {
  const maxValues = o.maxValues ?? 12;
  const primary = o.metrics.find((m) => m.role === 'primary') ?? o.metrics[0];
  const byFactor = new Map<string, Map<string, FactorCell[]>>();
  for (const c of cells) {
    const values = byFactor.get(c.factor) ?? new Map<string, FactorCell[]>();
    const list = values.get(c.value) ?? [];
    list.push(c);
    values.set(c.value, list);
    byFactor.set(c.factor, values);
  }
  const unitsOf = (cs: readonly CellStats[]) => cs.reduce((a, c) => a + (c.metric === primary?.key ? c.moments.n : 0), 0);
  const out: FactorBreakdown[] = [];
  for (const [factor, values] of [...byFactor.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const ranked = [...values.entries()].sort(([va, a], [vb, b]) => unitsOf(b) - unitsOf(a) || va.localeCompare(vb));
    const kept = ranked.slice(0, maxValues);
    const rest = ranked.slice(maxValues).flatMap(([, cs]) => cs);
    if (rest.length) kept.push([OTHER_VALUE, mergeCells(rest, factor)]);
    const ordered = naturalOrder(kept);
    out.push({
      factor,
      folded: Math.max(0, ranked.length - maxValues),
      values: ordered.map(([value, cs]) => {
        const arms = estimateArms(cs, o);
        return { value, units: unitsOf(cs), arms, signal: primary ? signals(arms, primary) : [] };
      }),
    });
  }
  return out;
}

function signals(arms: readonly ArmEstimate[], primary: MetricSpec): FactorValue['signal'] {
  const sign = primary.direction === 'increase' ? 1 : -1;
  const out: FactorValue['signal'] = [];
  for (const a of arms) {
    if (a.metric !== primary.key || !a.ci) continue;
    if (sign * a.ci[0] > 0 && sign * a.ci[1] > 0) out.push({ arm: a.arm, direction: 'better' });
    else if (sign * a.ci[0] < 0 && sign * a.ci[1] < 0) out.push({ arm: a.arm, direction: 'worse' });
  }
  return out;
}

function mergeCells(cells: readonly FactorCell[], factor: string): FactorCell[] {
  const out = new Map<string, FactorCell>();
  for (const c of cells) {
    const k = `${c.metric}|${c.variant}|${c.segment}|${c.period}|${c.propensityStratum ?? ''}|${c.stratum ?? ''}`;
    const prev = out.get(k);
    out.set(k, prev ? { ...prev, moments: addMoments(prev.moments, c.moments) } : { ...c, factor, value: OTHER_VALUE });
  }
  return [...out.values()];
}

/** Numeric values (hours, weekdays) in numeric order, others alphabetically, "(other)" last. */
function naturalOrder<T>(entries: Array<[string, T]>): Array<[string, T]> {
  const numeric = entries.every(([v]) => v === OTHER_VALUE || (v.trim() !== '' && Number.isFinite(Number(v))));
  return [...entries].sort(([a], [b]) => {
    if (a === OTHER_VALUE) return 1;
    if (b === OTHER_VALUE) return -1;
    return numeric ? Number(a) - Number(b) : a.localeCompare(b);
  });
}

/**
 * Metric estimates over time for the report: per day of exposure and cumulative, per arm against
 * control, with the same always-valid (confidence-sequence) intervals the decisions use — this module
 * only regroups cells and calls domain/decision's analyzeArms, it adds no statistics of its own.
 */
import { analyzeArms } from '../decision/analyze-arms.js';
import type { ArmMetricResult } from '../decision/types.js';
import { addMoments } from '../stats/moments.js';
import type { CellStats, MetricSpec, Moments } from '../types.js';

/** A collected cell of the units first exposed on one UTC day ("YYYY-MM-DD"). */
export interface DatedCell extends CellStats {
  day: string;
}

/** One arm against control on one metric: the decision's fields a chart needs. */
export type ArmEstimate = Pick<ArmMetricResult, 'arm' | 'metric' | 'controlN' | 'treatmentN' | 'controlMean' | 'treatmentMean' | 'estimate' | 'ci' | 'relative' | 'pValue'>;

/** Mean of one metric for one arm (units and per-unit mean), the arm's own line on a chart. */
export interface ArmMean {
  arm: string;
  metric: string;
  n: number;
  mean: number | null;
}

export interface DayEstimate {
  day: string;
  units: number;
  arms: ArmEstimate[];
  means: ArmMean[];
}

export interface EstimateOptions {
  metrics: readonly MetricSpec[];
  control: string;
  variants: readonly string[];
  alpha: number;
  tuningN?: number;
}

/** Always-valid estimates of every arm vs control on one set of cells. */
export function estimateArms(cells: readonly CellStats[], o: EstimateOptions): ArmEstimate[] {
  return analyzeArms({ metrics: o.metrics, cells, control: o.control, variants: o.variants, alpha: o.alpha, tuningN: o.tuningN }).map((r) => ({
    arm: r.arm,
    metric: r.metric,
    controlN: r.controlN,
    treatmentN: r.treatmentN,
    controlMean: finite(r.controlMean),
    treatmentMean: finite(r.treatmentMean),
    estimate: finite(r.estimate),
    ci: r.ci && r.ci.every(Number.isFinite) ? r.ci : null,
    relative: r.relative && Number.isFinite(r.relative.estimate) && r.relative.ci.every(Number.isFinite) ? r.relative : null,
    pValue: Number.isFinite(r.pValue) ? r.pValue : 1,
  }));
}

function armMeans(cells: readonly CellStats[], o: EstimateOptions): ArmMean[] {
  const out: ArmMean[] = [];
  for (const m of o.metrics) {
    for (const v of o.variants) {
      let acc: Moments = { n: 0, sum: 0, sumSquares: 0 };
      for (const c of cells) if (c.metric === m.key && c.variant === v) acc = addMoments(acc, c.moments);
      out.push({ arm: v, metric: m.key, n: acc.n, mean: acc.n > 0 ? acc.sum / acc.n : null });
    }
  }
  return out;
}

/**
 * Per day: the units first exposed that day. Cumulative: every unit exposed up to and including
 * that day, with its outcomes to date (cohorts, not an as-of replay: the per-cycle series in the
 * report holds what each decision saw at its time).
 */
export function estimatesOverTime(cells: readonly DatedCell[], o: EstimateOptions): { daily: DayEstimate[]; cumulative: DayEstimate[] } {
  const byDay = new Map<string, DatedCell[]>();
  for (const c of cells) {
    const list = byDay.get(c.day) ?? [];
    list.push(c);
    byDay.set(c.day, list);
  }
  const days = [...byDay.keys()].sort();
  const primary = o.metrics.find((m) => m.role === 'primary')?.key ?? o.metrics[0]?.key;
  const units = (cs: readonly CellStats[]) => cs.reduce((a, c) => a + (c.metric === primary ? c.moments.n : 0), 0);
  const daily: DayEstimate[] = [];
  const cumulative: DayEstimate[] = [];
  const sofar: CellStats[] = [];
  for (const day of days) {
    const own = byDay.get(day)!;
    sofar.push(...own);
    daily.push({ day, units: units(own), arms: estimateArms(own, o), means: armMeans(own, o) });
    cumulative.push({ day, units: units(sofar), arms: estimateArms(sofar, o), means: armMeans(sofar, o) });
  }
  return { daily, cumulative };
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

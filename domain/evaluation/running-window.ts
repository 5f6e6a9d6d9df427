/**
 * Running-window evaluation: each arm against control in every window (e.g. 7 days, stepping one
 * day), overall and per assignment segment, with the always-valid intervals of the decision rule
 * (domain/decision/analyze-arms.ts: stratified by segment × period, confidence sequence). Reading
 * the windows in order shows how an effect moves: novelty that decays, day-of-week swings.
 */
import { analyzeArms } from '../decision/analyze-arms.js';
import type { ArmMetricResult } from '../decision/types.js';
import type { CellStats, MetricSpec } from '../types.js';

/** Window ends from `from + window` stepping by `step` while ≤ `to`; one window over the whole range if it is shorter. */
export function windowEnds(from: Date, to: Date, windowSeconds: number, stepSeconds: number): Date[] {
  if (!(windowSeconds > 0 && stepSeconds > 0)) throw new RangeError('window and step must be positive');
  const ends: Date[] = [];
  const last = to.getTime();
  for (let t = from.getTime() + windowSeconds * 1000; t <= last && ends.length < 10_000; t += stepSeconds * 1000) ends.push(new Date(t));
  if (ends.length === 0) ends.push(new Date(last));
  return ends;
}

/** One window (and segment): the decision rule's comparison of an arm with control. */
export type WindowRow = { windowStart: string; windowEnd: string; /** null: all segments pooled (stratified); else one assignment segment. */ segment: number | null } & Pick<
  ArmMetricResult,
  'arm' | 'metric' | 'controlN' | 'treatmentN' | 'controlMean' | 'treatmentMean' | 'estimate' | 'ci' | 'relative' | 'pValue'
>;

export interface RunningWindowInput {
  windows: ReadonlyArray<{ end: Date; cells: readonly CellStats[] }>;
  windowSeconds: number;
  metrics: readonly MetricSpec[];
  control: string;
  variants: readonly string[];
  alpha: number;
  tuningN?: number;
  bySegment?: boolean;
}

/** Per window (and segment) × arm × metric: the always-valid comparison with control. */
export function evaluateRunningWindows(input: RunningWindowInput): WindowRow[] {
  const rows: WindowRow[] = [];
  for (const w of input.windows) {
    const start = new Date(w.end.getTime() - input.windowSeconds * 1000).toISOString();
    const groups: Array<[number | null, readonly CellStats[]]> = [[null, w.cells]];
    if (input.bySegment) {
      const ids = [...new Set(w.cells.map((c) => c.segment))].sort((a, b) => a - b);
      for (const s of ids) groups.push([s, w.cells.filter((c) => c.segment === s)]);
    }
    for (const [segment, cells] of groups) {
      const arms = analyzeArms({ metrics: input.metrics, cells, control: input.control, variants: input.variants, alpha: input.alpha, ...(input.tuningN ? { tuningN: input.tuningN } : {}) });
      for (const a of arms) {
        rows.push({
          windowStart: start,
          windowEnd: w.end.toISOString(),
          segment,
          arm: a.arm,
          metric: a.metric,
          controlN: a.controlN,
          treatmentN: a.treatmentN,
          controlMean: a.controlMean,
          treatmentMean: a.treatmentMean,
          estimate: a.estimate,
          ci: a.ci,
          relative: a.relative,
          pValue: a.pValue,
        });
      }
    }
  }
  return rows;
}

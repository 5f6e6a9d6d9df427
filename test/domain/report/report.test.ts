import { describe, expect, it } from 'vitest';
import { allocationHistory, classifyAllocationChange } from '../../../domain/report/allocation-history.js';
import { breakdownByFactor, OTHER_VALUE, type FactorCell } from '../../../domain/report/breakdown.js';
import { estimatesOverTime, type DatedCell } from '../../../domain/report/estimates.js';
import { modelStatusAt, type ModelVersionRow } from '../../../domain/report/entity-report.js';
import { timeToSignificance } from '../../../domain/report/time-to-significance.js';
import { analyzeArms } from '../../../domain/decision/analyze-arms.js';
import type { MetricSpec } from '../../../domain/types.js';

const metric: MetricSpec = { key: 'conv', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' };
const opts = { metrics: [metric], control: 'a', variants: ['a', 'b'], alpha: 0.05 };
const cell = (day: string, variant: string, n: number, sum: number, period = 1): DatedCell => ({ day, metric: 'conv', variant, segment: 0, period, moments: { n, sum, sumSquares: sum } });

describe('estimatesOverTime', () => {
  const cells = [cell('2026-11-01', 'a', 1000, 100), cell('2026-11-01', 'b', 1000, 130), cell('2026-11-02', 'a', 800, 90, 2), cell('2026-11-02', 'b', 1200, 150, 2)];

  it('per day is that day’s cohort and cumulative all cohorts so far, with the decision’s own statistics', () => {
    const { daily, cumulative } = estimatesOverTime(cells, opts);
    expect(daily.map((d) => [d.day, d.units])).toEqual([['2026-11-01', 2000], ['2026-11-02', 2000]]);
    expect(cumulative.map((d) => d.units)).toEqual([2000, 4000]);
    const expected = analyzeArms({ ...opts, cells })[0]!;
    expect(cumulative[1]!.arms[0]!.estimate).toBe(expected.estimate);
    expect(cumulative[1]!.arms[0]!.ci).toEqual(expected.ci);
    expect(daily[1]!.means.find((m) => m.arm === 'b')!.mean).toBeCloseTo(150 / 1200, 12);
  });
});

describe('allocation history', () => {
  it.each([
    ['initial', 'initial allocation', 'running', ['initial']],
    ['reallocate', 'segment 0: thompson P(best); segment 0: external-event dampening 30.0% toward control', 'running', ['policy', 'dampening']],
    ['reallocate', 'segment 1 concluded: ship b (adjusted always-valid p=0.001)', 'running', ['policy', 'conclusion']],
    ['throttle', 'look 3, segment 2: coverage 40%', 'running', ['throttle']],
    ['override-1', 'manual override by ops: incident', 'running', ['override']],
    ['phase-2', 'concluded by expflow: b wins', 'concluded', ['conclusion']],
    ['phase-1', 'paused by ana: checking', 'paused', ['phase']],
  ] as const)('%s · %s → %j', (step, reason, phase, kinds) => {
    expect(classifyAllocationChange(step, reason, phase)).toEqual(kinds);
  });

  it('names the person behind an override from the audit log', () => {
    const snap = (version: number, step: string) => ({ version, cycle: 1, step, reason: step, createdAt: `2026-11-01T00:0${version}:00Z`, snapshot: { phase: 'running' as const, segments: [{ id: 0, status: 'active' as const, coverage: 1, weights: { a: 0.5, b: 0.5 }, centroid: null }] } });
    const h = allocationHistory([snap(2, 'override-1'), snap(1, 'initial')], [{ at: '2026-11-01T00:02:00Z', actor: 'ana', action: 'allocation.override', target: 'x', reason: 'incident', dedupeKey: 'uuid-1:override-1' }]);
    expect(h.map((c) => [c.version, c.actor])).toEqual([[1, null], [2, 'ana']]);
  });
});

describe('breakdownByFactor', () => {
  it('pools values beyond the limit into (other) and marks arms whose interval excludes zero', () => {
    const cells: FactorCell[] = [];
    for (let v = 0; v < 5; v++) {
      cells.push({ factor: 'country', value: `c${v}`, metric: 'conv', variant: 'a', segment: 0, period: 1, moments: { n: 1000 - v, sum: 100, sumSquares: 100 } });
      cells.push({ factor: 'country', value: `c${v}`, metric: 'conv', variant: 'b', segment: 0, period: 1, moments: { n: 1000 - v, sum: v === 0 ? 40 : 100, sumSquares: v === 0 ? 40 : 100 } });
    }
    const [country] = breakdownByFactor(cells, { ...opts, maxValues: 3 });
    expect(country!.values.map((v) => [v.value, v.units])).toEqual([['c0', 2000], ['c1', 1998], ['c2', 1996], [OTHER_VALUE, 3986]]);
    expect(country!.folded).toBe(2);
    expect(country!.values[0]!.signal).toEqual([{ arm: 'b', direction: 'worse' }]);
    expect(country!.values[1]!.signal).toEqual([]);
  });
});

describe('timeToSignificance', () => {
  it('pairs each prediction with the cycle significance was reached', () => {
    const pred = (cycle: number, cycles: number) => ({ cycle, segments: [{ id: 0, prediction: { cycles, capped: false, source: 'tree' } }] });
    const dec = (cycle: number, better: boolean) => ({ cycle, arms: [{ role: 'primary' as const, better, harmful: false }], segments: [] });
    const [s] = timeToSignificance([pred(1, 5), pred(2, 2), pred(5, 0)], [dec(1, false), dec(2, false), dec(4, true), dec(5, true)]);
    expect(s!.realisedCycle).toBe(4);
    expect(s!.predictions.map((p) => p.predictedCycle)).toEqual([6, 4, 5]);
    expect(s!.errors).toEqual([{ cycle: 1, error: 2 }, { cycle: 2, error: 0 }]);
  });
});

describe('modelStatusAt', () => {
  const m = (over: Partial<ModelVersionRow>): ModelVersionRow => ({ id: 'x', modelType: 'ranker', version: 'v2', uri: 'u', status: 'candidate', experimentKey: 'mc-1', createdAt: '2026-11-01T00:00:00Z', updatedAt: '2026-11-05T00:00:00Z', ...over });
  it('reads back the status a version had at a time', () => {
    expect(modelStatusAt(m({}), '2026-10-01T00:00:00Z', null)).toBeNull();
    expect(modelStatusAt(m({ status: 'champion' }), '2026-11-03T00:00:00Z', '2026-11-05T00:00:00Z')).toBe('candidate');
    expect(modelStatusAt(m({ status: 'champion' }), '2026-11-06T00:00:00Z', '2026-11-05T00:00:00Z')).toBe('champion');
    expect(modelStatusAt(m({ status: 'retired', experimentKey: null }), '2026-11-03T00:00:00Z', null)).toBe('champion');
    expect(modelStatusAt(m({ status: 'retired' }), '2026-11-04T06:00:00Z', '2026-11-04T00:00:00Z')).toBe('champion');
    // Promoted after the moment asked about: it was still a challenger then.
    expect(modelStatusAt(m({ status: 'retired' }), '2026-11-03T00:00:00Z', '2026-11-04T12:00:00Z')).toBe('candidate');
    expect(modelStatusAt(m({ status: 'rejected' }), '2026-11-03T00:00:00Z', null)).toBe('candidate');
  });
});

/**
 * Segment-level evidence: stratified per-segment effects (no Simpson bias under a bandit with a time
 * trend), τ fixed per key at its first look, and a Holm family that never loses a key.
 */
import { describe, expect, it } from 'vitest';
import { initialSegmentTau, segmentArmEffect, segmentLevelDecisions } from '../../../domain/decision/segment-conclusions.js';
import { evaluateSegments, mixtureIntervalFromEffect, mixtureSequentialInterval, type SegmentRuleInput } from '../../../domain/segment-rules/index.js';
import { poolByVariant } from '../../../domain/experiment/cells.js';
import { mixtureSprt } from '../../../domain/stats/index.js';
import type { CellStats } from '../../../domain/types.js';

const cell = (variant: string, segment: number, period: number, n: number, rate: number): CellStats => {
  const k = Math.round(n * rate);
  return { metric: 'conv', variant, segment, period, moments: { n, sum: k, sumSquares: k } };
};

const metric = { key: 'conv', type: 'binary' as const, direction: 'increase' as const };

/**
 * No effect; the base rate rises 5% → 15% while the bandit moves treatment from 50% to 10% of the
 * segment's traffic: pooled, treatment looks worse, because its units come from the low-rate past.
 */
function trend(segment: number, periods = 10, unitsPerPeriod = 4000): CellStats[] {
  const cells: CellStats[] = [];
  for (let p = 1; p <= periods; p++) {
    const t = (p - 1) / (periods - 1);
    const base = 0.05 + 0.1 * t;
    const share = 0.5 - 0.4 * t;
    const nt = Math.round(unitsPerPeriod * share);
    cells.push(cell('A', segment, p, unitsPerPeriod - nt, base), cell('B', segment, p, nt, base));
  }
  return cells;
}

describe('segment × arm effect', () => {
  it('is the period-stratified difference: unbiased where pooled moments are Simpson-biased', () => {
    const cells = [...trend(1), ...trend(2, 10, 1000)];
    const e = segmentArmEffect(cells, { metric: 'conv', metricType: 'binary', segment: 1, control: 'A', treatment: 'B' });
    expect(Math.abs(e.estimate)).toBeLessThan(1e-4); // only the rounding of counts
    expect(e.strata).toBe(10);
    expect(e.controlN + e.treatmentN).toBe(40_000);
    const pooled = poolByVariant(cells, 'conv', ['A', 'B'], 1);
    const tau = initialSegmentTau(pooled.A!)!;
    const biased = mixtureSequentialInterval(pooled.A!, pooled.B!, 0.05, tau);
    expect(biased.estimate).toBeLessThan(-0.015);
    expect(biased.pValue).toBeLessThan(0.001); // the old rule "proves" harm that is not there
    const fair = mixtureIntervalFromEffect(e, 0.05, tau);
    expect(fair.pValue).toBe(1);
    expect(fair.lower).toBeLessThan(0);
    expect(fair.upper).toBeGreaterThan(0);
  });

  it('feeds the mSPRT the estimate and variance unchanged (one period = pooled moments)', () => {
    const cells = [cell('A', 0, 1, 2000, 0.1), cell('B', 0, 1, 2000, 0.13)];
    const e = segmentArmEffect(cells, { metric: 'conv', metricType: 'binary', segment: 0, control: 'A', treatment: 'B' });
    expect(e.estimate).toBeCloseTo(0.03, 12);
    expect(e.variance).toBeCloseTo((0.1 * 0.9 + 0.13 * 0.87) / 2000, 12);
    const iv = mixtureIntervalFromEffect(e, 0.05, 0.01);
    const ref = mixtureSprt({ estimate: e.estimate, variance: e.variance, alpha: 0.05, tau2: 1e-4 });
    expect(iv.pValue).toBeCloseTo(ref.pValue, 12);
    expect([iv.lower, iv.upper]).toEqual(ref.ci);
  });

  it('is uninformative without both arms', () => {
    const e = segmentArmEffect([cell('A', 0, 1, 100, 0.1)], { metric: 'conv', metricType: 'binary', segment: 0, control: 'A', treatment: 'B' });
    expect(e.strata).toBe(0);
    expect(mixtureIntervalFromEffect(e, 0.05, 0.01)).toMatchObject({ pValue: 1, lower: -Infinity, upper: Infinity });
  });
});

describe('segment-level decisions across looks', () => {
  const base = { metric, variants: ['A', 'B'], control: 'A', alpha: 0.05 };

  it('fixes τ per key at its first look and carries it, whatever the baseline does later', () => {
    const first = segmentLevelDecisions({ ...base, cells: [cell('A', 1, 1, 1000, 0.05), cell('B', 1, 1, 1000, 0.05)], segments: [1] });
    expect(first.state.tau['1:B']).toBeCloseTo(0.005, 12);
    // The baseline triples; τ stays the one fixed at the first look.
    const cells2 = [cell('A', 1, 1, 1000, 0.05), cell('B', 1, 1, 1000, 0.05), cell('A', 1, 2, 5000, 0.15), cell('B', 1, 2, 5000, 0.16)];
    const second = segmentLevelDecisions({ ...base, cells: cells2, segments: [1], previous: first.state });
    expect(second.state.tau['1:B']).toBe(first.state.tau['1:B']);
    const e = segmentArmEffect(cells2, { metric: 'conv', metricType: 'binary', segment: 1, control: 'A', treatment: 'B' });
    expect(second.intervals['1:B']!.pValue).toBeCloseTo(mixtureIntervalFromEffect(e, 0.05, 0.005).pValue, 12);
    // A fresh start would re-derive τ from the new baseline: a different mixture, a different p.
    const fresh = segmentLevelDecisions({ ...base, cells: cells2, segments: [1] });
    expect(fresh.state.tau['1:B']).not.toBeCloseTo(0.005, 6);
  });

  it('waits for a measured baseline before fixing τ (p = 1 meanwhile, but the key is in the family)', () => {
    const early = segmentLevelDecisions({ ...base, cells: [cell('A', 1, 1, 20, 0), cell('B', 1, 1, 20, 0.2)], segments: [1] });
    expect(early.state.tau).toEqual({});
    expect(early.state.pMin).toEqual({ '1:B': 1 });
    expect(initialSegmentTau({ n: 29, sum: 3, sumSquares: 3 })).toBeNull();
    expect(initialSegmentTau({ n: 30, sum: 3, sumSquares: 3 })).toBeCloseTo(0.01, 12);
  });

  it('keeps the running minimum and every key ever tested in the Holm family', () => {
    // Look 1: segments 1 and 2; segment 1 is strongly better.
    const strong = [cell('A', 1, 1, 3000, 0.1), cell('B', 1, 1, 3000, 0.14), cell('A', 2, 1, 3000, 0.1), cell('B', 2, 1, 3000, 0.1)];
    const look1 = segmentLevelDecisions({ ...base, cells: strong, segments: [1, 2] });
    expect(Object.keys(look1.state.pMin).sort()).toEqual(['1:B', '2:B']);
    const p1 = look1.state.pMin['1:B']!;
    expect(look1.decisions.find((d) => d.segmentId === 1)!.outcome).toBe('ship');

    // Look 2: segment 2 is gone from the segmentation (and from the data); it stays in the family
    // with its carried p, and segment 1 keeps its running minimum even though its new data are null.
    const later = [...strong.filter((c) => c.segment === 1), cell('A', 1, 2, 3000, 0.1), cell('B', 1, 2, 3000, 0.1)];
    const look2 = segmentLevelDecisions({ ...base, cells: later, segments: [1], previous: look1.state });
    expect(look2.decisions.map((d) => `${d.segmentId}:${d.arm}`)).toEqual(['1:B', '2:B']);
    expect(look2.state.pMin['1:B']).toBe(p1);
    expect(look2.state.pMin['2:B']).toBe(look1.state.pMin['2:B']);
    expect(look2.state.tau['2:B']).toBe(look1.state.tau['2:B']);
    expect(look2.intervals['1:B']!.pValue).toBeGreaterThan(p1);
    expect(look2.decisions.find((d) => d.segmentId === 1)!.outcome).toBe('ship');
    // Even if a later look's estimate turns, the conclusion keeps the direction of its minimum.
    const turned = [...later, cell('A', 1, 3, 30_000, 0.1), cell('B', 1, 3, 30_000, 0.093)];
    const look3a = segmentLevelDecisions({ ...base, cells: turned, segments: [1], previous: look2.state });
    expect(segmentArmEffect(turned, { metric: 'conv', metricType: 'binary', segment: 1, control: 'A', treatment: 'B' }).estimate).toBeLessThan(0);
    expect(look3a.decisions.find((d) => d.segmentId === 1)!.outcome).toBe('ship');

    // Holm over the whole family: p = 0.03 alone would conclude, next to a carried 0.5 it does not.
    const carried = { pMin: { '1:B': 0.03, '2:B': 0.5 }, tau: { '1:B': 0.01, '2:B': 0.01 }, estimate: { '1:B': 0.02, '2:B': -0.01 } };
    const look3 = segmentLevelDecisions({ ...base, cells: [], segments: [1], previous: carried });
    const d1 = look3.decisions.find((d) => d.segmentId === 1)!;
    expect(d1.adjustedPValue).toBeCloseTo(0.06, 12);
    expect(d1.outcome).toBe('none');
    // Without segment 2 in the family it would have shipped: the family must not shrink.
    const shrunk = segmentLevelDecisions({ ...base, cells: [], segments: [1], previous: { pMin: { '1:B': 0.03 }, tau: { '1:B': 0.01 }, estimate: { '1:B': 0.02 } } });
    expect(shrunk.decisions[0]!.outcome).toBe('ship');
    // A carried key without data keeps its last estimate (the direction of its conclusion).
    expect(look3.decisions.find((d) => d.segmentId === 2)!.estimate).toBe(-0.01);
  });

  it('keeps a Holm-controlled conclusion out of a null segment under bandit drift', () => {
    const cells = [...trend(1), ...trend(2)];
    let state;
    for (let look = 1; look <= 10; look++) {
      const upTo = cells.filter((c) => c.period <= look);
      const r = segmentLevelDecisions({ ...base, cells: upTo, segments: [1, 2], previous: state });
      expect(r.decisions.every((d) => d.outcome === 'none')).toBe(true);
      state = r.state;
    }
  });
});

describe('throttle harm rule on stratified evidence', () => {
  const config = { control: 'A', direction: 'increase' as const, minCoverage: 0.1, minSegmentSize: 500, harmMargin: 0, mde: 0.05, futility: false, likelyHarmAlpha: 0 };
  const segment = (cells: CellStats[], over: Partial<SegmentRuleInput> = {}): SegmentRuleInput => ({
    id: 1,
    size: 40_000,
    accrualPerCycle: 4000,
    arms: poolByVariant(cells, 'conv', ['A', 'B'], 1),
    prediction: null,
    previousStatus: 'active',
    previousCoverage: 1,
    ...over,
  });

  it('pooled moments terminate a null segment for "harm"; the stratified effects do not', () => {
    const cells = trend(1);
    const run = (s: SegmentRuleInput) => evaluateSegments({ segments: [s], config, remainingBudget: {}, alpha: 0.05, look: 10 })[0]!;
    expect(run(segment(cells)).rule).toBe('harm');
    const effect = segmentArmEffect(cells, { metric: 'conv', metricType: 'binary', segment: 1, control: 'A', treatment: 'B' });
    const r = run(segment(cells, { effects: { B: effect } }));
    expect(r.rule).toBe('coverage');
    expect(r.intervals.B!.estimate).toBeCloseTo(effect.estimate, 12);
  });

  it('uses the per-arm τ when given and still proves a real harm', () => {
    const cells = [cell('A', 1, 1, 20_000, 0.1), cell('B', 1, 1, 20_000, 0.08)];
    const effect = segmentArmEffect(cells, { metric: 'conv', metricType: 'binary', segment: 1, control: 'A', treatment: 'B' });
    const [r] = evaluateSegments({ segments: [segment(cells, { effects: { B: { ...effect, tau: 0.004 } } })], config, remainingBudget: {}, alpha: 0.05, look: 3 });
    expect(r!.rule).toBe('harm');
    expect(r!.intervals.B!.upper).toBeCloseTo(mixtureIntervalFromEffect(effect, 0.05, 0.004).upper, 12);
  });
});

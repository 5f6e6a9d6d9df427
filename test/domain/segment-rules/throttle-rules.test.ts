import { describe, expect, it } from 'vitest';
import type { SignificancePrediction } from '../../../domain/prediction/index.js';
import {
  BUDGET_RULE_DEFAULTS,
  computeCoverage,
  optimisticSamples,
  evaluateSegments,
  type SegmentRuleInput,
  type SegmentRulesConfig,
} from '../../../domain/segment-rules/index.js';
import type { Moments } from '../../../domain/types.js';
import { decideSegmentArms } from '../../../domain/decision/segment-conclusions.js';

const bin = (n: number, rate: number): Moments => ({ n, sum: Math.round(n * rate), sumSquares: Math.round(n * rate) });

function prediction(cycles: number, spread = 1.5, capped = false): SignificancePrediction {
  const samples = cycles * 1000;
  return {
    source: 'tree',
    samples,
    samplesQuantiles: { '0.1': samples / spread, '0.5': samples, '0.9': samples * spread },
    cycles,
    cyclesLower: cycles / spread,
    cyclesUpper: cycles * spread,
    capped,
    analytic: { requiredPerArm: samples / 2, remainingSamples: samples, remainingCycles: cycles, capped },
  };
}

const config: SegmentRulesConfig = {
  control: 'A',
  direction: 'increase',
  minCoverage: 0.1,
  minSegmentSize: 500,
  harmMargin: 0.02,
  mde: 0.05,
};

function seg(over: Partial<SegmentRuleInput> = {}): SegmentRuleInput {
  return {
    id: 1,
    size: 10_000,
    accrualPerCycle: 1000,
    arms: { A: bin(2000, 0.1), B: bin(2000, 0.1) },
    prediction: prediction(10),
    previousStatus: 'active',
    ...over,
  };
}

const run = (segments: SegmentRuleInput[], budget = { cycles: 100 }, cfg = config) =>
  evaluateSegments({ segments, config: cfg, remainingBudget: budget, alpha: 0.05, look: 3 });

describe('throttle/terminate rules', () => {
  it('too small: fires below minSegmentSize, not at or above it', () => {
    const [small] = run([seg({ size: 499 })]);
    expect(small).toMatchObject({ status: 'terminated', coverage: 0, rule: 'too-small', changed: true, serve: 'A' });
    expect(small!.reason).toContain('look 3, segment 1: too small');
    expect(run([seg({ size: 500 })])[0]!.rule).toBe('coverage');
  });

  it('harm: fires when the always-valid interval is entirely beyond −margin, not for a small dip', () => {
    const harmed = run([seg({ arms: { A: bin(100_000, 0.1), B: bin(100_000, 0.08) } })])[0]!;
    expect(harmed).toMatchObject({ status: 'terminated', rule: 'harm', coverage: 0 });
    expect(harmed.intervals.B!.upper).toBeLessThan(-0.002);
    // −1% relative with margin 2%: no termination (the lenient throttle may still slow it).
    const dip = run([seg({ arms: { A: bin(100_000, 0.1), B: bin(100_000, 0.099) } })])[0]!;
    expect(dip.rule).not.toBe('harm');
    expect(dip.status).not.toBe('terminated');
  });

  it('harm respects direction: for a decrease metric a higher treatment mean is harm', () => {
    const cfg = { ...config, direction: 'decrease' as const };
    const r = run([seg({ arms: { A: bin(100_000, 0.08), B: bin(100_000, 0.1) } })], { cycles: 100 }, cfg)[0]!;
    expect(r.rule).toBe('harm');
    const good = run([seg({ arms: { A: bin(100_000, 0.1), B: bin(100_000, 0.08) } })], { cycles: 100 }, cfg)[0]!;
    expect(good.rule).toBe('coverage');
  });

  it('likely harm: throttles to minCoverage on a lenient signal before harm is proven', () => {
    const r = run([seg({ arms: { A: bin(20_000, 0.1), B: bin(20_000, 0.092) } })])[0]!;
    expect(r).toMatchObject({ status: 'throttled', coverage: 0.1, rule: 'likely-harm' });
    const off = run([seg({ arms: { A: bin(20_000, 0.1), B: bin(20_000, 0.092) } })], { cycles: 100 }, { ...config, likelyHarmAlpha: 0 })[0]!;
    expect(off.rule).toBe('coverage');
  });

  it('futility: fires when every arm interval sits inside ±MDE, not while it is wide', () => {
    const futile = run([seg({ arms: { A: bin(1_000_000, 0.1), B: bin(1_000_000, 0.1) } })])[0]!;
    expect(futile).toMatchObject({ status: 'terminated', rule: 'futility' });
    expect(run([seg({ arms: { A: bin(5000, 0.1), B: bin(5000, 0.1) } })])[0]!.rule).toBe('coverage');
    expect(run([seg({ arms: { A: bin(1_000_000, 0.1), B: bin(1_000_000, 0.1) } })], { cycles: 100 }, { ...config, futility: false })[0]!.rule).toBe('coverage');
  });

  it('budget: fires when even the optimistic prediction exceeds remaining cycles or samples', () => {
    const over = run([seg({ prediction: prediction(40, 2) })], { cycles: 19 })[0]!;
    expect(over).toMatchObject({ status: 'terminated', rule: 'budget' });
    // Median 40 > 25 remaining, but the optimistic 20 fits: keep going.
    expect(run([seg({ prediction: prediction(40, 2) })], { cycles: 25 })[0]!.rule).toBe('coverage');
    const samples = evaluateSegments({ segments: [seg({ prediction: prediction(40, 2) })], config, remainingBudget: { samples: 10_000 }, alpha: 0.05, look: 3 })[0]!;
    expect(samples.rule).toBe('budget');
    // Waits for enough data per arm when configured (arms have 2000 each here).
    expect(run([seg({ prediction: prediction(40, 2) })], { cycles: 19 }, { ...config, budgetMinSamplesPerArm: 2001 })[0]!.rule).toBe('coverage');
  });

  it('budget guard: never fires before enough data per arm or before the minimum look (defaults 1000/arm, look 3)', () => {
    expect(BUDGET_RULE_DEFAULTS).toEqual({ minSamplesPerArm: 1000, minLooks: 3, quantile: 0.1 });
    const hopeless = prediction(400, 1.2);
    // Too little data: a noisy early estimate must not end the segment for good.
    expect(run([seg({ arms: { A: bin(999, 0.1), B: bin(999, 0.1) }, prediction: hopeless })])[0]!.rule).toBe('coverage');
    expect(run([seg({ arms: { A: bin(1000, 0.1), B: bin(1000, 0.1) }, prediction: hopeless })])[0]!.rule).toBe('budget');
    // Too early: look 2 < 3, even with plenty of data.
    const early = evaluateSegments({ segments: [seg({ prediction: hopeless })], config, remainingBudget: { cycles: 100 }, alpha: 0.05, look: 2 })[0]!;
    expect(early.rule).toBe('coverage');
    // Configurable both ways (0 turns the guard off).
    expect(evaluateSegments({ segments: [seg({ arms: { A: bin(10, 0.1), B: bin(10, 0.1) }, prediction: hopeless })], config: { ...config, budgetMinSamplesPerArm: 0, budgetMinLooks: 0 }, remainingBudget: { cycles: 100 }, alpha: 0.05, look: 1 })[0]!.rule).toBe('budget');
  });

  it('budget quantile: uses the calibrated residual level asked for, else the smallest available', () => {
    const p = prediction(100, 1.5); // q0.1 = 66.7 cycles
    p.samplesQuantiles['0.05'] = 30 * 1000; // q0.05 = 30 cycles
    expect(run([seg({ prediction: p })], { cycles: 50 })[0]!.rule).toBe('budget'); // default q=0.1: 66.7 > 50
    const lenient = run([seg({ prediction: p })], { cycles: 50 }, { ...config, budgetQuantile: 0.05 })[0]!;
    expect(lenient.rule).toBe('coverage'); // 30 ≤ 50
    expect(optimisticSamples(p, 0.05)).toBe(30_000);
    expect(optimisticSamples(p, 0.01)).toBe(30_000); // level absent: smallest quantile
    const over = run([seg({ prediction: p })], { cycles: 29 }, { ...config, budgetQuantile: 0.05 })[0]!;
    expect(over.rule).toBe('budget');
    expect(over.reason).toContain('q=0.05');
  });

  it('harm takes precedence over budget when harm is proven', () => {
    const r = run([seg({ arms: { A: bin(100_000, 0.1), B: bin(100_000, 0.08) }, prediction: prediction(1000, 1.1) })], { cycles: 5 })[0]!;
    expect(r.rule).toBe('harm');
  });

  it('likely harm with likelyHarmKeepProvable keeps enough traffic to prove harm within the remaining cycles', () => {
    const arms = { A: bin(20_000, 0.1), B: bin(20_000, 0.092) };
    const cfg = { ...config, likelyHarmKeepProvable: true };
    // Median 40 cycles at full coverage, 100 remaining → 40% coverage; default throttles to the floor.
    expect(run([seg({ arms, prediction: prediction(40) })], { cycles: 100 }, cfg)[0]).toMatchObject({ rule: 'likely-harm', coverage: 0.4, status: 'throttled' });
    expect(run([seg({ arms, prediction: prediction(40) })], { cycles: 100 })[0]).toMatchObject({ rule: 'likely-harm', coverage: 0.1 });
    // Never below the floor.
    expect(run([seg({ arms, prediction: prediction(2) })], { cycles: 100 }, cfg)[0]!.coverage).toBe(0.1);
  });

  it('terminated stays terminated and reports no change', () => {
    const r = run([seg({ previousStatus: 'terminated', previousCoverage: 0 })])[0]!;
    expect(r).toMatchObject({ status: 'terminated', coverage: 0, rule: 'terminal', changed: false });
  });

  it('coverage ∝ 1/predicted time, bounded, with throttled below 1', () => {
    const r = run([
      seg({ id: 1, prediction: prediction(10) }),
      seg({ id: 2, prediction: prediction(40) }),
      seg({ id: 3, prediction: prediction(500) }),
      seg({ id: 4, prediction: prediction(10, 1.5, true) }),
    ], { cycles: 1000 });
    expect(r.map((x) => x.coverage)).toEqual([1, 0.25, 0.1, 0.1]);
    expect(r.map((x) => x.status)).toEqual(['active', 'throttled', 'throttled', 'throttled']);
    expect(r[0]!.changed).toBe(false);
    expect(r[1]!.changed).toBe(true);
    expect(r[1]!.reason).toContain('coverage 25.0%');
  });

  it('computeCoverage: unknown predictions get the floor, sub-cycle predictions do not zero others', () => {
    const c = computeCoverage([{ id: 1, predictedCycles: 0.01 }, { id: 2, predictedCycles: 4 }, { id: 3, predictedCycles: null }], 0.05);
    expect([...c.values()]).toEqual([1, 0.25, 0.05]);
  });
});

describe('segment-level decisions', () => {
  it('Holm across segments × arms: ships the helped, flags the harmed, leaves the rest', () => {
    const d = decideSegmentArms(
      [
        { segmentId: 1, arm: 'B', estimate: 0.01, pValue: 0.001 },
        { segmentId: 2, arm: 'B', estimate: 0.001, pValue: 0.03 },
        { segmentId: 3, arm: 'B', estimate: -0.01, pValue: 0.01 },
        { segmentId: 4, arm: 'B', estimate: 0.0, pValue: 0.5 },
      ],
      { alpha: 0.05, method: 'holm', direction: 'increase' },
    );
    // Holm: 0.001·4 = 0.004, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.5.
    expect(d.map((x) => x.outcome)).toEqual(['ship', 'none', 'harm', 'none']);
    expect(d[2]!.adjustedPValue).toBeCloseTo(0.03, 12);
    expect(d[0]!.reason).toContain('ship');
  });
});

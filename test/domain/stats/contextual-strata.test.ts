/**
 * Contextual policy: within one (segment, period) units are randomised with their context leaf's
 * treatment share. Pooling leaves with different shares and baselines in one stratum fakes a lift in
 * an A/A test; the propensity stratum removes it.
 */
import { describe, expect, it } from 'vitest';
import { decideExperiment } from '../../../domain/decision/index.js';
import { binomial } from '../../../domain/prediction/simulate-history.js';
import { createRng } from '../../../domain/rng.js';
import { stratifiedDifference } from '../../../domain/stats/index.js';
import type { CellStats, MetricSpec } from '../../../domain/types.js';

const cell = (variant: string, n: number, k: number, propensityStratum?: number, period = 1, segment = 0): CellStats => ({
  metric: 'conv',
  variant,
  segment,
  period,
  ...(propensityStratum === undefined ? {} : { propensityStratum }),
  moments: { n, sum: k, sumSquares: k },
});

/** Two leaves in one (segment, period): A (baseline 10%, treatment share 0.2), B (baseline 30%, share 0.5); no effect. */
function twoLeaves(units: number, withStratum: boolean): CellStats[] {
  const q = (s: number) => (withStratum ? s : undefined);
  return [
    cell('control', 0.8 * units, 0.1 * 0.8 * units, q(0.2)),
    cell('treatment', 0.2 * units, 0.1 * 0.2 * units, q(0.2)),
    cell('control', 0.5 * units, 0.3 * 0.5 * units, q(0.5)),
    cell('treatment', 0.5 * units, 0.3 * 0.5 * units, q(0.5)),
  ];
}

const metrics: MetricSpec[] = [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' }];
const options = { metricType: 'binary' as const, control: 'control', treatment: 'treatment', strata: 'segment-period' as const };

describe('propensity strata (contextual policy)', () => {
  it('removes the +37% phantom lift of pooling two leaves with different shares and baselines', () => {
    const pooled = stratifiedDifference(twoLeaves(10_000, false), options);
    // control 2300/13000 = 17.7%, treatment 1700/7000 = 24.3%: a lift with no effect at all.
    expect(pooled.relative!.estimate).toBeGreaterThan(0.35);
    expect(pooled.pValue).toBeLessThan(1e-20);
    expect(pooled.strata).toHaveLength(1);

    const strat = stratifiedDifference(twoLeaves(10_000, true), options);
    expect(strat.strata.map((s) => s.key)).toEqual(['s0:p1:q0.2', 's0:p1:q0.5']);
    expect(strat.estimate).toBeCloseTo(0, 12);
    expect(strat.pValue).toBeCloseTo(1, 12);
    expect(strat.n).toBe(20_000);
    // 'period' strata split by the propensity stratum too.
    expect(stratifiedDifference(twoLeaves(10_000, true), { ...options, strata: 'period' }).estimate).toBeCloseTo(0, 12);
  });

  it('the decision step ships the phantom lift without the stratum and not with it', () => {
    const look = { metrics, control: 'control', variants: ['control', 'treatment'], alpha: 0.05, look: 1 };
    expect(decideExperiment({ ...look, cells: twoLeaves(10_000, false) }).outcome).toBe('ship');
    const d = decideExperiment({ ...look, cells: twoLeaves(10_000, true) });
    expect(d.outcome).toBe('continue');
    expect(d.arms[0]!.estimate).toBeCloseTo(0, 12);
  });

  it('keeps the A/A false-positive rate at α on simulated leaves (and is unbiased)', () => {
    const rng = createRng(7);
    const reps = 400;
    let rejectStrat = 0;
    let rejectPooled = 0;
    let sumEstimate = 0;
    let sumSe = 0;
    for (let r = 0; r < reps; r++) {
      const cells: CellStats[] = [];
      for (const [share, base] of [[0.2, 0.1], [0.5, 0.3]] as const) {
        const units = 4000;
        const nt = binomial(rng, units, share);
        cells.push(cell('control', units - nt, binomial(rng, units - nt, base), share), cell('treatment', nt, binomial(rng, nt, base), share));
      }
      const s = stratifiedDifference(cells, { ...options, alpha: 0.05 });
      const p = stratifiedDifference(cells.map(({ propensityStratum: _q, ...c }) => c), { ...options, alpha: 0.05 });
      if (s.pValue < 0.05) rejectStrat++;
      if (p.pValue < 0.05) rejectPooled++;
      sumEstimate += s.estimate;
      sumSe += s.standardError;
    }
    expect(rejectStrat / reps).toBeLessThan(0.05 + 3 * Math.sqrt((0.05 * 0.95) / reps));
    expect(rejectPooled / reps).toBeGreaterThan(0.9);
    expect(Math.abs(sumEstimate / reps)).toBeLessThan((3 * sumSe) / reps / Math.sqrt(reps));
  });

  it('cells without a stratum are grouped exactly as before', () => {
    const cells = [cell('control', 1000, 100), cell('treatment', 1000, 130), cell('control', 400, 40, undefined, 2), cell('treatment', 4000, 520, undefined, 2)];
    const r = stratifiedDifference(cells, options);
    expect(r.strata.map((s) => s.key)).toEqual(['s0:p1', 's0:p2']);
  });
});

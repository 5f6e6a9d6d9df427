import { describe, expect, it } from 'vitest';
import { decideExperiment, type DecideExperimentInput } from '../../../domain/decision/index.js';
import { probabilityBestByArm } from '../../../domain/decision/bayesian-evidence.js';
import { probabilityBest } from '../../../domain/allocation/thompson.js';
import type { CellStats, MetricSpec } from '../../../domain/types.js';

const conv: MetricSpec = { key: 'conv', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' };
const latency: MetricSpec = { key: 'latency', event: 'page', type: 'continuous', role: 'guardrail', direction: 'decrease', margin: 0.02 };

function binary(metric: string, variant: string, n: number, rate: number, period = 1, segment = 0): CellStats {
  const s = Math.round(n * rate);
  return { metric, variant, segment, period, moments: { n, sum: s, sumSquares: s } };
}
function continuous(metric: string, variant: string, n: number, mean: number, sd: number, period = 1, segment = 0): CellStats {
  return { metric, variant, segment, period, moments: { n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean } };
}

function input(cells: CellStats[], extra: Partial<DecideExperimentInput> = {}): DecideExperimentInput {
  return { metrics: [conv, latency], cells, control: 'A', variants: ['A', 'B', 'C'], alpha: 0.05, look: 7, ...extra };
}

const healthyLatency = ['A', 'B', 'C'].map((v) => continuous('latency', v, 20000, 300, 50));

describe('decideExperiment', () => {
  it('ships the best significantly better variant with healthy guardrails', () => {
    const d = decideExperiment(input([binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.115), binary('conv', 'C', 20000, 0.125), ...healthyLatency]));
    expect(d.outcome).toBe('ship');
    expect(d.winner).toBe('C');
    expect(d.rationale).toContain('C beats A on conv');
    const c = d.arms.find((r) => r.arm === 'C' && r.metric === 'conv')!;
    expect(c.better).toBe(true);
    expect(c.adjustedP!).toBeGreaterThanOrEqual(c.pValue);
    expect(d.arms).toHaveLength(4);
  });

  it('does not ship a variant that harms a guardrail beyond its margin: stops that arm, and the others continue', () => {
    const cells = [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.125), binary('conv', 'C', 20000, 0.1), continuous('latency', 'A', 20000, 300, 50), continuous('latency', 'B', 20000, 330, 50), continuous('latency', 'C', 20000, 300, 50)];
    const d = decideExperiment(input(cells));
    expect(d.outcome).toBe('continue');
    expect(d.winner).toBeUndefined();
    expect(d.stopArms.map((s) => [s.arm, s.rule])).toEqual([['B', 'guardrail']]);
    expect(d.arms.find((r) => r.arm === 'B' && r.metric === 'latency')!.harmful).toBe(true);
  });

  it('rolls back (stop_harm) only once every treatment arm is stopped', () => {
    const cells = [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.125), continuous('latency', 'A', 20000, 300, 50), continuous('latency', 'B', 20000, 330, 50)];
    const d = decideExperiment(input(cells, { variants: ['A', 'B'] }));
    expect(d.outcome).toBe('stop_harm');
    expect(d.rationale).toMatch(/roll back to A/);
  });

  it('tolerates guardrail harm within the margin', () => {
    const cells = [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.125), continuous('latency', 'A', 200000, 300, 50), continuous('latency', 'B', 200000, 301.5, 50)];
    const d = decideExperiment(input(cells, { variants: ['A', 'B'] }));
    expect(d.outcome).toBe('ship');
    expect(d.winner).toBe('B');
  });

  it('continues before the minimum sample and without significance', () => {
    const cells = [binary('conv', 'A', 500, 0.1), binary('conv', 'B', 500, 0.2), binary('conv', 'C', 500, 0.1)];
    expect(decideExperiment(input(cells, { minSamplePerArm: 1000 })).outcome).toBe('continue');
    const flat = [binary('conv', 'A', 5000, 0.1), binary('conv', 'B', 5000, 0.102), binary('conv', 'C', 5000, 0.099)];
    expect(decideExperiment(input(flat)).outcome).toBe('continue');
  });

  it('at the horizon: inconclusive when a variant trends better, futility when none does', () => {
    const trending = [binary('conv', 'A', 5000, 0.1), binary('conv', 'B', 5000, 0.104), binary('conv', 'C', 5000, 0.099)];
    expect(decideExperiment(input(trending, { maxSamplePerArm: 5000 })).outcome).toBe('inconclusive');
    const none = [binary('conv', 'A', 5000, 0.1), binary('conv', 'B', 5000, 0.098), binary('conv', 'C', 5000, 0.097)];
    expect(decideExperiment(input(none, { maxSamplePerArm: 5000 })).outcome).toBe('stop_futility');
  });

  it('stratifies by period so bandit reallocation over a trend does not create a winner', () => {
    const cells = [
      binary('conv', 'A', 10000, 0.1, 1), binary('conv', 'B', 10000, 0.1, 1),
      binary('conv', 'A', 2000, 0.2, 2), binary('conv', 'B', 18000, 0.2, 2),
    ];
    const d = decideExperiment(input(cells, { metrics: [conv], variants: ['A', 'B'] }));
    expect(d.outcome).toBe('continue');
    expect(Math.abs(d.arms[0]?.estimate ?? NaN)).toBeLessThan(1e-12);
  });

  it('respects decrease-is-better metrics and produces JSON-safe output on empty input', () => {
    const lower: MetricSpec = { key: 'churn', event: 'cancel', type: 'binary', role: 'primary', direction: 'decrease' };
    const d = decideExperiment({ metrics: [lower], cells: [binary('churn', 'A', 20000, 0.1), binary('churn', 'B', 20000, 0.08)], control: 'A', variants: ['A', 'B'], alpha: 0.05, look: 1 });
    expect(d).toMatchObject({ outcome: 'ship', winner: 'B' });
    const empty = decideExperiment(input([]));
    expect(empty.outcome).toBe('continue');
    expect(JSON.parse(JSON.stringify(empty))).toEqual(empty);
    expect(JSON.stringify(empty)).not.toMatch(/NaN|Infinity/);
    expect(empty.arms.every((r) => r.ci === null && r.reason === 'empty-arm')).toBe(true);
  });

  it('single arm experiment is inconclusive, not an error', () => {
    expect(decideExperiment(input([binary('conv', 'A', 100, 0.1)], { variants: ['A'] })).outcome).toBe('inconclusive');
  });
});

describe('guardrail harm when the treatment mean is 0 (relative lift has no interval of its own)', () => {
  const checkout: MetricSpec = { key: 'checkout', event: 'checkout', type: 'binary', role: 'guardrail', direction: 'increase', margin: 0.05 };
  it('a treatment with no conversions at all is still judged beyond the margin, from the always-valid absolute interval', () => {
    const cells = [binary('conv', 'A', 5000, 0.1), binary('conv', 'B', 5000, 0.1), binary('checkout', 'A', 5000, 0.08), binary('checkout', 'B', 5000, 0)];
    const d = decideExperiment({ metrics: [conv, checkout], cells, control: 'A', variants: ['A', 'B'], alpha: 0.05, look: 3 });
    const r = d.arms.find((x) => x.arm === 'B' && x.metric === 'checkout')!;
    expect(r.relative).toBeNull();
    expect(r.harmful).toBe(true);
    expect(d.outcome).toBe('stop_harm');
  });
});

describe('P(best) by arm for the weight actions', () => {
  it('an arm whose units all had the same outcome is a point mass (as in Thompson allocation), not an uninformed arm', () => {
    const metric: MetricSpec = { key: 'revenue', event: 'purchase', type: 'continuous', role: 'primary', direction: 'increase' };
    const zero = { n: 300, sum: 0, sumSquares: 0 };
    const noisy = { n: 100, sum: 50, sumSquares: 99 * 100 + 100 * 0.25 };
    const cells: CellStats[] = [
      { metric: 'revenue', variant: 'control', segment: 0, period: 0, moments: zero },
      { metric: 'revenue', variant: 'b', segment: 0, period: 0, moments: noisy },
    ];
    const p = probabilityBestByArm(cells, metric, ['control', 'b']);
    // P(N(0.5, 1) > 0) = Φ(0.5); the uninformed stand-in (variance 1e12) gave ≈ 0.5.
    expect(p.b).toBeCloseTo(0.691462461274013, 9);
    expect([p.control, p.b]).toEqual(probabilityBest([zero, noisy], 'gaussian'));
  });
});

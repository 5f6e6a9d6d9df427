import { describe, expect, it } from 'vitest';
import { createRng } from '../../../domain/rng.js';
import { betaBinomialPosterior, comparePosteriors, probabilityBest, type Posterior } from '../../../domain/stats/index.js';
import { expectClose, loadFixture } from './helpers.js';

interface Counts {
  n: number;
  successes: number;
}
interface Figures {
  pTreatmentHigher: number;
  lossShipTreatment: number;
  lossKeepControl: number;
  ci: [number, number];
}
const fx = loadFixture<{
  cases: {
    control: Counts;
    treatment: Counts;
    alpha: number;
    exact: Figures & { pControlHigher: number };
    closedForm: { pTreatmentHigher: number };
    monteCarlo: Figures & { draws: number; sdOfDifference: number };
  }[];
  probabilityBest: { counts: [number, number][]; direction: 'increase' | 'decrease'; probabilityBest: number[] }[];
}>('bayesian-binary.json');

const label = (c: { control: Counts; treatment: Counts }) => `${c.control.successes}/${c.control.n} vs ${c.treatment.successes}/${c.treatment.n}`;
const cases = fx.cases.map((c) => ({ ...c, name: label(c) }));

describe('exact Beta-Binomial comparison (fixtures: scipy quadrature, Evan Miller closed form, 2e6-draw Monte Carlo)', () => {
  it.each(cases)('$name', (c) => {
    const control = betaBinomialPosterior(c.control);
    const treatment = betaBinomialPosterior(c.treatment);
    const up = comparePosteriors(control, treatment, { alpha: c.alpha });
    const sd = c.monteCarlo.sdOfDifference;
    // scipy quadrature: probabilities to 1e-9, losses to 1e-7 (relative, floor 1e-9 sd), interval to 1e-7 sd.
    expectClose(up.probabilityToBeatControl, c.exact.pTreatmentHigher, 1e-9, 1);
    expectClose(up.probabilityToBeatControl, c.closedForm.pTreatmentHigher, 1e-7, 1);
    expectClose(up.expectedLoss, c.exact.lossShipTreatment, 1e-7, 0.01 * sd);
    expectClose(up.expectedLossControl, c.exact.lossKeepControl, 1e-7, 0.01 * sd);
    expectClose(up.ci[0], c.exact.ci[0], 1e-7, sd);
    expectClose(up.ci[1], c.exact.ci[1], 1e-7, sd);
    // Monte Carlo (independent of any identity used by either implementation): to 1e-3 absolute.
    expect(Math.abs(up.probabilityToBeatControl - c.monteCarlo.pTreatmentHigher)).toBeLessThan(1e-3);
    expect(Math.abs(up.expectedLoss - c.monteCarlo.lossShipTreatment)).toBeLessThan(1e-3);
    expect(Math.abs(up.expectedLossControl - c.monteCarlo.lossKeepControl)).toBeLessThan(1e-3);
    expect(Math.abs(up.ci[0] - c.monteCarlo.ci[0])).toBeLessThan(1e-3);
    expect(Math.abs(up.ci[1] - c.monteCarlo.ci[1])).toBeLessThan(1e-3);
    // Lower is better: the chance and the two losses swap sides; the interval of T − C does not move.
    const down = comparePosteriors(control, treatment, { alpha: c.alpha, direction: 'decrease' });
    expectClose(down.probabilityToBeatControl, c.exact.pControlHigher, 1e-9, 1);
    expectClose(down.expectedLoss, c.exact.lossKeepControl, 1e-7, 0.01 * sd);
    expectClose(down.expectedLossControl, c.exact.lossShipTreatment, 1e-7, 0.01 * sd);
    expect(down.ci).toEqual(up.ci);
  });

  it.each(fx.probabilityBest)('P(best) of low-count arms vs scipy quadrature %#', (c) => {
    const posteriors = c.counts.map(([n, successes]) => betaBinomialPosterior({ n, successes }));
    probabilityBest(posteriors, c.direction).forEach((p, i) => expectClose(p, c.probabilityBest[i] as number, 1e-7, 1e-7));
  });
});

describe('issue 14 cases', () => {
  it('A: 0/20 against 0/350 (alpha 0.1) beats control with probability 351/372, with a small expected loss', () => {
    const arms = [betaBinomialPosterior({ n: 126, successes: 1 }), betaBinomialPosterior({ n: 350, successes: 0 }), betaBinomialPosterior({ n: 20, successes: 0 })];
    const [, control, arm2] = arms as [Posterior, Posterior, Posterior];
    const r = comparePosteriors(control, arm2, { alpha: 0.1 });
    // P(Beta(1,21) > Beta(1,351)) = 351/(351 + 21) exactly.
    expectClose(r.probabilityToBeatControl, 351 / 372, 1e-10);
    expect(r.probabilityToBeatControl).toBeCloseTo(0.9435, 4);
    // The Normal approximation said 0.836 and 0.00377.
    expect(r.expectedLoss).toBeLessThan(0.00377 / 20);
  });

  it('B: 611/175436 vs 1/337, lower is better: P(beat) = P(best) = 0.6701', () => {
    const control = betaBinomialPosterior({ n: 337, successes: 1 });
    const treatment = betaBinomialPosterior({ n: 175436, successes: 611 });
    const r = comparePosteriors(control, treatment, { alpha: 0.2, direction: 'decrease' });
    const best = probabilityBest([treatment, control], 'decrease');
    expect(r.probabilityToBeatControl).toBeCloseTo(0.6701, 4);
    expect(best[0]).toBe(r.probabilityToBeatControl);
  });
});

describe('P(beat control) equals P(best) with two arms', () => {
  const rng = createRng(14);
  const draws = Array.from({ length: 40 }, () => {
    const n1 = Math.floor(10 ** (1 + 5 * rng()));
    const n2 = Math.floor(10 ** (1 + 5 * rng()));
    const r = 0.5 * rng();
    return [
      { n: n1, successes: Math.round(n1 * r) },
      { n: n2, successes: Math.round(n2 * Math.min(1, r * (0.8 + 0.4 * rng()))) },
      rng() < 0.5 ? ('increase' as const) : ('decrease' as const),
    ] as const;
  });
  it.each(draws)('%j vs %j (%s)', (c, t, direction) => {
    const control = betaBinomialPosterior(c);
    const treatment = betaBinomialPosterior(t);
    const beat = comparePosteriors(control, treatment, { direction }).probabilityToBeatControl;
    const [pControl, pTreatment] = probabilityBest([control, treatment], direction) as [number, number];
    expect(pTreatment).toBe(beat);
    expectClose(pControl + pTreatment, 1, 1e-9);
    // And the k-arm quadrature agrees when a third arm that can never win is added.
    const hopeless = betaBinomialPosterior({ n: 1e6, successes: direction === 'increase' ? 0 : 1e6 });
    const three = probabilityBest([control, treatment, hopeless], direction);
    expectClose(three[1] as number, beat, 1e-7, 1e-7);
  });

  it('two Normal posteriors: P(best) is Φ of the effect, the same number P(beat) reports', () => {
    const control: Posterior = { kind: 'normal', mean: 1, variance: 0.01 };
    const treatment: Posterior = { kind: 'normal', mean: 1.05, variance: 0.02 };
    expect(probabilityBest([control, treatment])[1]).toBe(comparePosteriors(control, treatment).probabilityToBeatControl);
  });
});

describe('very large counts stay exact and fast', () => {
  it.each([1e7, 1e8, 1e9])('n = %d per arm', (n) => {
    const control = betaBinomialPosterior({ n, successes: Math.round(n * 0.01) });
    const treatment = betaBinomialPosterior({ n, successes: Math.round(n * 0.01 + 0.7 * Math.sqrt(n * 0.01)) });
    const r = comparePosteriors(control, treatment);
    // Effect 0.7·√(0.01/n) over sd √(2·0.0099/n): z ≈ 0.497, so P ≈ Φ(0.497) ≈ 0.69 (skewness ≤ 0.006 here).
    expect(r.probabilityToBeatControl).toBeGreaterThan(0.68);
    expect(r.probabilityToBeatControl).toBeLessThan(0.72);
    expect(r.ci[0]).toBeLessThan(r.mean);
    expect(r.ci[1]).toBeGreaterThan(r.mean);
    expect(r.expectedLoss).toBeGreaterThan(0);
  });
});

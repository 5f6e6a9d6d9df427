import { describe, expect, it } from 'vitest';
import { createRng } from '../../../domain/rng.js';
import type { Moments } from '../../../domain/types.js';
import {
  betaBinomialPosterior,
  comparePosteriors,
  compareMeans,
  compareProportions,
  credibleInterval,
  gaussianEffectPosterior,
  normalMeanPosterior,
  probabilityBest,
  simulateArmPosteriors,
  type Posterior,
} from '../../../domain/stats/index.js';
import { expectAllClose, expectClose, expectFiniteDeep, loadFixture } from './helpers.js';

const fx = loadFixture<{
  betaCredibleIntervals: { alpha: number; beta: number; level: number; ci: [number, number] }[];
  probabilityBest: { posteriors: Posterior[]; probabilityBest: number[] }[];
}>('bayesian.json');
const gb = loadFixture<{
  bayesian: { metricType: 'binary' | 'continuous'; control: Moments; treatment: Moments; alpha: number; chanceToWin: number; ci: [number, number]; risk: [number, number]; expected: number }[];
}>('gbstats.json');

describe('Beta-Binomial posteriors', () => {
  it.each(fx.betaCredibleIntervals)('Beta($alpha, $beta) credible interval vs scipy', (c) => {
    const ci = credibleInterval({ kind: 'beta', alpha: c.alpha, beta: c.beta }, c.level);
    expectClose(ci[0], c.ci[0], 1e-8);
    expectClose(ci[1], c.ci[1], 1e-8);
  });
  it('adds conversions to a Beta(1,1) prior', () => {
    expect(betaBinomialPosterior({ n: 100, successes: 10 })).toEqual({ kind: 'beta', alpha: 11, beta: 91 });
  });
});

describe('P(best) by quadrature', () => {
  it.each(fx.probabilityBest)('matches scipy adaptive quadrature %#', (c) => {
    expectAllClose(probabilityBest(c.posteriors), c.probabilityBest, 1e-6, 1e-6);
  });

  it('agrees with a seeded Monte Carlo of 1e6 draws within 0.005', () => {
    const posteriors: Posterior[] = [
      betaBinomialPosterior({ n: 1000, successes: 100 }),
      betaBinomialPosterior({ n: 1000, successes: 115 }),
      betaBinomialPosterior({ n: 1000, successes: 108 }),
    ];
    const exact = probabilityBest(posteriors);
    const mc = simulateArmPosteriors(posteriors, { rng: createRng(42), draws: 1_000_000 });
    expectAllClose(mc.probabilityBest, exact, 0.005, 1); // probabilities ≤ 1: an absolute 0.005
    const normals: Posterior[] = [
      { kind: 'normal', mean: 10, variance: 0.04 },
      { kind: 'normal', mean: 10.2, variance: 0.05 },
      { kind: 'normal', mean: 10.1, variance: 0.01 },
      { kind: 'normal', mean: 9.9, variance: 0.09 },
    ];
    const exactN = probabilityBest(normals, 'decrease');
    const mcN = simulateArmPosteriors(normals, { rng: createRng(7), draws: 1_000_000, direction: 'decrease' });
    expectAllClose(mcN.probabilityBest, exactN, 0.005, 1);
    expectClose(exactN.reduce((a, b) => a + b, 0), 1, 1e-9);
  });

  it('single arm is best with probability 1; zero-variance arms fall back to ranking', () => {
    expect(probabilityBest([{ kind: 'normal', mean: 1, variance: 1 }])).toEqual([1]);
    expect(probabilityBest([{ kind: 'normal', mean: 1, variance: 0 }, { kind: 'normal', mean: 2, variance: 0 }])).toEqual([0, 1]);
  });
});

describe('Normal effect posterior vs gbstats EffectBayesianABTest (flat prior, absolute)', () => {
  it.each(gb.bayesian)('$metricType n=$control.n', (c) => {
    const eff = c.metricType === 'binary' ? compareProportions({ n: c.control.n, successes: c.control.sum }, { n: c.treatment.n, successes: c.treatment.sum }) : compareMeans(c.control, c.treatment);
    const post = gaussianEffectPosterior({ estimate: eff.estimate, variance: eff.standardError ** 2, alpha: c.alpha });
    expectClose(post.probabilityToBeatControl, c.chanceToWin, 1e-9);
    expectClose(post.mean, c.expected, 1e-9);
    const w = c.ci[1] - c.ci[0];
    expectClose(post.ci[0], c.ci[0], 1e-9, w);
    expectClose(post.ci[1], c.ci[1], 1e-9, w);
    expectClose(post.expectedLossControl, c.risk[0], 1e-7, 1e-12);
    expectClose(post.expectedLoss, c.risk[1], 1e-7, 1e-12);
  });

  it('expected loss matches Monte Carlo and flips with direction', () => {
    const control: Posterior = { kind: 'normal', mean: 1, variance: 0.01 };
    const treatment: Posterior = { kind: 'normal', mean: 1.05, variance: 0.02 };
    const cmp = comparePosteriors(control, treatment);
    const mc = simulateArmPosteriors([control, treatment], { rng: createRng(3), draws: 400_000 });
    expect(mc.expectedLoss).toHaveLength(2);
    expect(Math.abs(cmp.expectedLoss - (mc.expectedLoss[1] ?? NaN))).toBeLessThan(0.002);
    const down = comparePosteriors(control, treatment, { direction: 'decrease' });
    expectClose(down.probabilityToBeatControl, 1 - cmp.probabilityToBeatControl, 1e-12);
  });

  it('weak Normal prior and degenerate data stay finite', () => {
    expect(normalMeanPosterior({ n: 0, sum: 0, sumSquares: 0 })).toBeNull();
    const shrunk = normalMeanPosterior({ n: 10, sum: 50, sumSquares: 260 }, { mean: 0, variance: 1 })!;
    expect(shrunk.mean).toBeLessThan(5);
    expectFiniteDeep(gaussianEffectPosterior({ estimate: 0.1, variance: 0 }));
    expectFiniteDeep(comparePosteriors(betaBinomialPosterior({ n: 0, successes: 0 }), betaBinomialPosterior({ n: 10, successes: 0 })));
  });
});

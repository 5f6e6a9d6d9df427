/**
 * Randomised differential test of domain/stats against scipy, statsmodels and gbstats: several
 * thousand seeded random inputs (scripts/gen_random_stats_fixtures.py → fixtures/stats/random.json)
 * that include the edge cases hand-picked grids miss. Each family collects every mismatch so one run
 * lists them all. Where the reference is undefined (null), the engine must answer finitely with a
 * degenerate reason, never NaN.
 */
import { describe, expect, it } from 'vitest';
import type { Moments } from '../../../domain/types.js';
import {
  benjaminiHochbergAdjust,
  betaBinomialPosterior,
  checkSampleRatio,
  chiSquareGoodnessOfFit,
  chiSquareIndependence,
  chiSquareSf,
  cohensH,
  compareMeans,
  comparePosteriors,
  compareProportions,
  compareRatios,
  credibleInterval,
  crossingProbabilities,
  gaussianEffectPosterior,
  holmAdjust,
  logGamma,
  minimumDetectableEffectMeans,
  momentsOf,
  normalCdf,
  normalQuantile,
  normalSf,
  powerTwoMeans,
  powerTwoProportions,
  probabilityBest,
  regularizedBeta,
  sampleSizeTwoMeans,
  sampleSizeTwoProportions,
  sequentialEffect,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedPValue,
  upperRegularizedGamma,
  type EffectEstimate,
  type Posterior,
  type RatioMoments,
} from '../../../domain/stats/index.js';
import { loadFixture } from './helpers.js';

type N = number | null;
interface Counts {
  n: number;
  successes: number;
}
interface Fixture {
  special: {
    normalCdf: [number, number, number][];
    normalQuantile: [number, number][];
    studentTCdf: [number, number, number, number][];
    studentTQuantile: [number, number, number][];
    chiSquareSf: [number, number, number][];
    regularizedBeta: [number, number, number, number][];
    logGamma: [number, number][];
    upperRegularizedGamma: [number, number, number][];
  };
  proportions: { control: Counts; treatment: Counts; alpha: number; estimate: number; z: N; pValue: N; ci: [N, N]; cohensH: N }[];
  means: { control: Moments; treatment: Moments; sd: [number, number]; alpha: number; estimate: number; t: N; df: N; pValue: N; ci: [N, N] }[];
  meansRaw: { control: number[]; treatment: number[]; alpha: number; estimate: number; t: N; pValue: N }[];
  chiSquare: {
    independence: { table: number[][]; statistic: N; df: number; pValue: N }[];
    goodnessOfFit: { observed: number[]; expected: number[]; statistic: N; df: number; pValue: N }[];
  };
  srm: { periods: { weights: number[]; n: number }[]; observed: number[]; expected: number[]; statistic: N; pValue: N }[];
  multipleTesting: { pValues: number[]; holm: number[]; bh: number[] }[];
  power: {
    pControl: number;
    pTreatment: number;
    nTreatment: number;
    alpha: number;
    ratio: number;
    power: number;
    powerProportions: number;
    sampleSizeProportions: number;
    delta: number;
    sd: number;
    powerMeans: number;
    sampleSizeMeans: number;
    mdeMeans: number;
  }[];
  bayesian: {
    betaCredibleIntervals: { alpha: number; beta: number; level: number; ci: [number, number] }[];
    betaComparisons: { control: Counts; treatment: Counts; pTreatmentHigher: number }[];
    probabilityBest: { posteriors: Posterior[]; direction: 'increase' | 'decrease'; probabilityBest: number[] }[];
  };
  gbstats?: { cases: GbCase[] };
  ratio: { control: RatioMoments; treatment: RatioMoments; alpha: number; estimate: number; standardError: number; pValue: N; ci: [number, number] }[];
  groupSequential: { boundaries: number[]; informationFractions: number[]; drift: number; crossing: number[] }[];
}
interface GbResult {
  estimate: N;
  ci: [N, N];
  pValue: N;
  error: string | null;
}
interface GbCase {
  metricType: 'binary' | 'continuous';
  control: Moments;
  treatment: Moments;
  alpha: number;
  tuningN: number;
  absolute: { fixed: GbResult; sequential: GbResult };
  relative: { fixed: GbResult; sequential: GbResult };
  bayesian: { chanceToWin: N; ci: [N, N]; risk: [N, N]; expected: N; error: string | null };
}

const fx = loadFixture<Fixture>('random.json');

/** Collects mismatches: |actual − expected| > rel·max(|expected|, scale). */
class Mismatches {
  readonly list: string[] = [];
  close(label: string, actual: number | null | undefined, expected: number | null, rel: number, scale = 0): void {
    if (expected === null) return;
    const tol = rel * Math.max(Math.abs(expected), scale, 1e-300);
    if (typeof actual !== 'number' || !(Math.abs(actual - expected) <= tol)) this.list.push(`${label}: got ${actual}, reference ${expected}`);
  }
  finite(label: string, value: unknown): void {
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) this.list.push(`${label}${path} is ${v}`);
      } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(value, '');
  }
  check(label: string, ok: boolean, detail = ''): void {
    if (!ok) this.list.push(`${label} ${detail}`);
  }
  expectNone(): void {
    expect(this.list.slice(0, 40), `${this.list.length} mismatches`).toEqual([]);
  }
}

/** Relative precision the moments {n, Σy, Σy²} leave for the variance: Σy²/((n−1)s²) ulps of it. */
function momentTolerance(m: Moments, sd: number, base: number): number {
  if (!(sd > 0) || m.n < 2) return base;
  const cond = m.sumSquares / ((m.n - 1) * sd * sd);
  return Math.max(base, 1e-15 * cond * 8);
}

describe('special functions on random arguments (scipy)', () => {
  it('normal CDF/SF/quantile, Student t, chi-square, Beta and Gamma', () => {
    const m = new Mismatches();
    for (const [x, cdf, sf] of fx.special.normalCdf) {
      m.close(`normalCdf(${x})`, normalCdf(x), cdf, 1e-12, 1e-300);
      m.close(`normalSf(${x})`, normalSf(x), sf, 1e-12, 1e-300);
    }
    for (const [p, q] of fx.special.normalQuantile) m.close(`normalQuantile(${p})`, normalQuantile(p), q, 1e-12, 1e-12);
    for (const [t, df, cdf, two] of fx.special.studentTCdf) {
      m.close(`studentTCdf(${t}, ${df})`, studentTCdf(t, df), cdf, 1e-8, 1e-300);
      m.close(`studentTTwoSidedPValue(${t}, ${df})`, studentTTwoSidedPValue(t, df), two, 1e-8, 1e-300);
    }
    for (const [p, df, q] of fx.special.studentTQuantile) m.close(`studentTQuantile(${p}, ${df})`, studentTQuantile(p, df), q, 1e-8, 1e-8);
    for (const [x, df, sf] of fx.special.chiSquareSf) m.close(`chiSquareSf(${x}, ${df})`, chiSquareSf(x, df), sf, 1e-9, 1e-300);
    for (const [x, a, b, ib] of fx.special.regularizedBeta) m.close(`regularizedBeta(${x}, ${a}, ${b})`, regularizedBeta(x, a, b), ib, 1e-7, 1e-300);
    for (const [x, lg] of fx.special.logGamma) m.close(`logGamma(${x})`, logGamma(x), lg, 1e-10, 1e-10);
    for (const [a, x, q] of fx.special.upperRegularizedGamma) m.close(`upperRegularizedGamma(${a}, ${x})`, upperRegularizedGamma(a, x), q, 1e-8, 1e-300);
    m.expectNone();
  });
});

describe('two-sample tests on random inputs', () => {
  it('compareProportions matches statsmodels proportions_ztest and the Wald interval', () => {
    const m = new Mismatches();
    for (const c of fx.proportions) {
      const label = `${c.control.successes}/${c.control.n} vs ${c.treatment.successes}/${c.treatment.n} α=${c.alpha}`;
      const r = compareProportions(c.control, c.treatment, c.alpha);
      m.finite(label, r);
      m.close(`${label} estimate`, r.estimate, c.estimate, 1e-12, 1e-15);
      if (c.pValue === null) m.check(`${label} undefined test`, r.pValue === 1 && r.reason !== undefined, JSON.stringify(r));
      else m.close(`${label} pValue`, r.pValue, c.pValue, 1e-6, 1e-290);
      const [lo, hi] = c.ci;
      if (r.ci === null) m.check(`${label} ci null only when the Wald interval has width 0`, lo !== null && hi !== null && Math.abs(hi - lo) < 1e-12, `${lo}..${hi}`);
      else {
        const w = (hi ?? 0) - (lo ?? 0);
        m.close(`${label} ci.lo`, r.ci[0], lo, 1e-9, w);
        m.close(`${label} ci.hi`, r.ci[1], hi, 1e-9, w);
      }
      m.close(`${label} cohensH`, cohensH(c.control.successes / c.control.n, c.treatment.successes / c.treatment.n), c.cohensH, 1e-12, 1e-12);
      m.check(`${label} p in [0,1]`, r.pValue >= 0 && r.pValue <= 1);
    }
    m.expectNone();
  });

  it('compareMeans matches scipy ttest_ind_from_stats (Welch)', () => {
    const m = new Mismatches();
    for (const c of fx.means) {
      const label = `n=${c.control.n}/${c.treatment.n} sd=${c.sd} α=${c.alpha}`;
      const r = compareMeans(c.control, c.treatment, c.alpha);
      m.finite(label, r);
      const tol = Math.max(momentTolerance(c.control, c.sd[0], 1e-6), momentTolerance(c.treatment, c.sd[1], 1e-6));
      if (tol > 1e-2) continue; // the moments themselves no longer carry the variance
      m.close(`${label} estimate`, r.estimate, c.estimate, 1e-9, Math.abs(c.estimate) + 1e-9 * (Math.abs(c.control.sum / c.control.n) + Math.abs(c.treatment.sum / c.treatment.n)));
      if (c.pValue === null || c.t === null) {
        m.check(`${label} undefined test`, r.pValue === 1 && r.reason !== undefined, JSON.stringify(r));
        continue;
      }
      m.close(`${label} pValue`, r.pValue, c.pValue, tol, 1e-290);
      if (r.df !== null) m.close(`${label} df`, r.df, c.df, tol);
      const [lo, hi] = c.ci;
      if (r.ci === null) m.check(`${label} ci null`, false, JSON.stringify(r));
      else {
        const w = (hi ?? 0) - (lo ?? 0);
        m.close(`${label} ci.lo`, r.ci[0], lo, tol, w);
        m.close(`${label} ci.hi`, r.ci[1], hi, tol, w);
      }
    }
    m.expectNone();
  });

  it('compareMeans on raw samples (moments built by momentsOf) matches scipy ttest_ind', () => {
    const m = new Mismatches();
    for (const c of fx.meansRaw) {
      const label = `n=${c.control.length}/${c.treatment.length} c0=${c.control[0]} t0=${c.treatment[0]}`;
      const r = compareMeans(momentsOf(c.control), momentsOf(c.treatment), c.alpha);
      m.finite(label, r);
      m.close(`${label} estimate`, r.estimate, c.estimate, 1e-9, 1e-6);
      if (c.pValue === null) m.check(`${label} undefined test`, r.pValue === 1 && r.reason !== undefined, JSON.stringify(r));
      else m.close(`${label} pValue`, r.pValue, c.pValue, 1e-4, 1e-290);
    }
    m.expectNone();
  });

  it('compareRatios matches the delta method computed on the raw units', () => {
    const m = new Mismatches();
    for (const c of fx.ratio) {
      const label = `n=${c.control.n}/${c.treatment.n}`;
      const r = compareRatios(c.control, c.treatment, c.alpha);
      m.finite(label, r);
      m.close(`${label} estimate`, r.estimate, c.estimate, 1e-9, 1e-9);
      // Σ-moments leave ~1e-8·R of cancellation noise in the delta-method standard error.
      m.close(`${label} se`, r.standardError, c.standardError, 1e-6, 0.02 * Math.abs(c.control.sum / c.control.denSum));
      if (c.pValue !== null && c.standardError > 1e-9 * Math.abs(c.estimate)) {
        m.close(`${label} pValue`, r.pValue, c.pValue, 1e-5, 1e-290);
        const w = c.ci[1] - c.ci[0];
        m.close(`${label} ci.lo`, r.ci?.[0], c.ci[0], 1e-6, w);
      }
    }
    m.expectNone();
  });
});

describe('chi-square and SRM on random tables', () => {
  it('independence matches scipy chi2_contingency (empty rows/columns dropped)', () => {
    const m = new Mismatches();
    for (const c of fx.chiSquare.independence) {
      const label = JSON.stringify(c.table).slice(0, 80);
      const r = chiSquareIndependence(c.table);
      m.finite(label, r);
      if (c.statistic === null) m.check(`${label} undefined`, r.pValue === 1 && r.reason !== undefined);
      else {
        m.close(`${label} statistic`, r.statistic, c.statistic, 1e-9, 1e-9);
        m.check(`${label} df`, r.df === c.df, `${r.df} vs ${c.df}`);
        m.close(`${label} pValue`, r.pValue, c.pValue, 1e-7, 1e-290);
      }
    }
    for (const c of fx.chiSquare.goodnessOfFit) {
      const label = `gof k=${c.observed.length} n=${c.observed.reduce((a, b) => a + b, 0)}`;
      const r = chiSquareGoodnessOfFit(c.observed, c.expected);
      m.finite(label, r);
      if (c.statistic === null) m.check(`${label} undefined`, r.reason !== undefined || r.pValue === 0);
      else {
        m.close(`${label} statistic`, r.statistic, c.statistic, 1e-9, 1e-9);
        m.close(`${label} pValue`, r.pValue, c.pValue, 1e-7, 1e-290);
      }
    }
    m.expectNone();
  });

  it('checkSampleRatio over allocation periods matches scipy chisquare on the period-weighted expectation', () => {
    const m = new Mismatches();
    for (const c of fx.srm) {
      const label = `k=${c.observed.length} periods=${c.periods.length}`;
      const r = checkSampleRatio({ periods: c.periods, observed: c.observed });
      m.finite(label, r);
      r.expected.forEach((e, i) => m.close(`${label} expected[${i}]`, e, c.expected[i] ?? null, 1e-9, 1e-9));
      m.close(`${label} statistic`, r.statistic, c.statistic, 1e-8, 1e-9);
      m.close(`${label} pValue`, r.pValue, c.pValue, 1e-7, 1e-290);
    }
    m.expectNone();
  });
});

describe('multiple testing and power on random inputs', () => {
  it('Holm and BH match statsmodels multipletests', () => {
    const m = new Mismatches();
    for (const c of fx.multipleTesting) {
      const holm = holmAdjust(c.pValues);
      const bh = benjaminiHochbergAdjust(c.pValues);
      c.holm.forEach((p, i) => m.close(`holm m=${c.pValues.length}[${i}]`, holm[i], p, 1e-12, 1e-300));
      c.bh.forEach((p, i) => m.close(`bh m=${c.pValues.length}[${i}]`, bh[i], p, 1e-12, 1e-300));
    }
    m.expectNone();
  });

  it('power, sample size and MDE match statsmodels', () => {
    const m = new Mismatches();
    for (const c of fx.power) {
      const label = `pc=${c.pControl} pt=${c.pTreatment} n=${c.nTreatment} α=${c.alpha} ratio=${c.ratio}`;
      m.close(`${label} powerTwoProportions`, powerTwoProportions(c), c.powerProportions, 1e-9, 1e-12);
      m.close(`${label} sampleSizeTwoProportions`, sampleSizeTwoProportions(c), c.sampleSizeProportions, 1e-9);
      m.close(`${label} powerTwoMeans`, powerTwoMeans(c), c.powerMeans, 1e-9, 1e-12);
      m.close(`${label} sampleSizeTwoMeans`, sampleSizeTwoMeans(c), c.sampleSizeMeans, 1e-9);
      m.close(`${label} mdeMeans`, minimumDetectableEffectMeans(c), c.mdeMeans, 1e-9);
    }
    m.expectNone();
  });
});

describe('Bayesian on random posteriors', () => {
  it('Beta credible intervals match scipy beta.ppf', () => {
    const m = new Mismatches();
    for (const c of fx.bayesian.betaCredibleIntervals) {
      const ci = credibleInterval({ kind: 'beta', alpha: c.alpha, beta: c.beta }, c.level);
      const w = c.ci[1] - c.ci[0];
      m.close(`Beta(${c.alpha}, ${c.beta}) lo`, ci[0], c.ci[0], 1e-6, w);
      m.close(`Beta(${c.alpha}, ${c.beta}) hi`, ci[1], c.ci[1], 1e-6, w);
    }
    m.expectNone();
  });

  it('P(treatment > control) of two Beta posteriors matches the closed-form sum', () => {
    const m = new Mismatches();
    for (const c of fx.bayesian.betaComparisons) {
      const label = `${c.control.successes}/${c.control.n} vs ${c.treatment.successes}/${c.treatment.n}`;
      const r = comparePosteriors(betaBinomialPosterior(c.control), betaBinomialPosterior(c.treatment));
      m.finite(label, r);
      m.close(`${label} P(T>C)`, r.probabilityToBeatControl, c.pTreatmentHigher, 1e-6, 1e-8);
    }
    m.expectNone();
  });

  it('P(best) among 2–8 Beta or Normal posteriors matches scipy quadrature', () => {
    const m = new Mismatches();
    for (const c of fx.bayesian.probabilityBest) {
      const got = probabilityBest(c.posteriors, c.direction);
      c.probabilityBest.forEach((p, i) => m.close(`${c.posteriors[0]?.kind} k=${c.posteriors.length} ${c.direction} [${i}]`, got[i], p, 1e-5, 1e-6));
    }
    m.expectNone();
  });
});

function gbEffect(c: GbCase): EffectEstimate {
  return c.metricType === 'binary'
    ? compareProportions({ n: c.control.n, successes: c.control.sum }, { n: c.treatment.n, successes: c.treatment.sum }, c.alpha)
    : compareMeans(c.control, c.treatment, c.alpha);
}

describe.runIf(fx.gbstats !== undefined)('gbstats on random inputs', () => {
  const cases = fx.gbstats?.cases ?? [];
  it('fixed-horizon and sequential (absolute and relative) match TwoSidedTTest / SequentialTwoSidedTTest', () => {
    const m = new Mismatches();
    for (const c of cases) {
      const label = `${c.metricType} ${c.control.sum}/${c.control.n} vs ${c.treatment.sum}/${c.treatment.n} α=${c.alpha} N*=${c.tuningN}`;
      const fixed = gbEffect(c);
      const seq = sequentialEffect(fixed, c.control.n + c.treatment.n, c.alpha, c.tuningN);
      m.finite(`${label} fixed`, fixed);
      m.finite(`${label} seq`, seq);
      const ref = c.absolute.sequential;
      if (ref.error || ref.ci[0] === null || ref.pValue === null) continue;
      if (c.metricType === 'continuous') {
        const fr = c.absolute.fixed;
        const w = (fr.ci[1] ?? 0) - (fr.ci[0] ?? 0);
        // gbstats underflows to 0 (and loses digits) below ~1e-13; scipy and the engine agree there.
        m.close(`${label} fixed p`, fixed.pValue, fr.pValue, 1e-6, 1e-9);
        m.close(`${label} fixed ci.lo`, fixed.ci?.[0], fr.ci[0], 1e-6, w);
      }
      const w = (ref.ci[1] ?? 0) - (ref.ci[0] ?? 0);
      m.close(`${label} seq ci.lo`, seq.ci?.[0], ref.ci[0], 1e-6, w);
      m.close(`${label} seq ci.hi`, seq.ci?.[1], ref.ci[1], 1e-6, w);
      m.close(`${label} seq p`, seq.pValue, ref.pValue, 1e-6, 1e-290);
      const rel = c.relative.sequential;
      if (!rel.error && rel.ci[0] !== null && seq.relative) {
        const rw = (rel.ci[1] ?? 0) - (rel.ci[0] ?? 0);
        m.close(`${label} seq rel est`, seq.relative.estimate, rel.estimate, 1e-9, rw);
        m.close(`${label} seq rel ci.lo`, seq.relative.ci[0], rel.ci[0], 1e-6, rw);
        m.close(`${label} seq rel ci.hi`, seq.relative.ci[1], rel.ci[1], 1e-6, rw);
      }
    }
    m.expectNone();
  });

  it('Normal effect posterior matches EffectBayesianABTest (flat prior, absolute)', () => {
    const m = new Mismatches();
    for (const c of cases) {
      const b = c.bayesian;
      if (b.error || b.chanceToWin === null || c.metricType !== 'continuous') continue;
      const label = `${c.control.n}/${c.treatment.n} α=${c.alpha}`;
      const fixed = gbEffect(c);
      const post = gaussianEffectPosterior({ estimate: fixed.estimate, variance: fixed.standardError ** 2, alpha: c.alpha });
      m.finite(label, post);
      m.close(`${label} chanceToWin`, post.probabilityToBeatControl, b.chanceToWin, 1e-6, 1e-9);
      const w = (b.ci[1] ?? 0) - (b.ci[0] ?? 0);
      m.close(`${label} ci.lo`, post.ci[0], b.ci[0], 1e-6, w);
      m.close(`${label} risk ctrl`, post.expectedLossControl, b.risk[0], 1e-6, w * 1e-3);
      m.close(`${label} risk treatment`, post.expectedLoss, b.risk[1], 1e-6, w * 1e-3);
    }
    m.expectNone();
  });
});

describe('group-sequential crossing probabilities', () => {
  it('match multivariate-normal integration (scipy) for random boundaries, looks and drifts', () => {
    const m = new Mismatches();
    for (const c of fx.groupSequential) {
      const got = crossingProbabilities(c.boundaries, c.informationFractions, c.drift);
      c.crossing.forEach((p, i) => m.close(`k=${c.boundaries.length} drift=${c.drift} look ${i}`, got[i], p, 1e-3, 1e-6)); // |Δ| ≤ max(1e-3·p, 1e-9)
    }
    m.expectNone();
  });
});

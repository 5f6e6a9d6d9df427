/**
 * Randomised differential test of the statistics the decision and allocation steps use, beyond
 * random-reference.test.ts (scripts/gen_random_decision_fixtures.py → fixtures/stats/random-decision.json):
 * P(best) with point-mass posteriors (scipy quadrature and Monte Carlo), the segment × period
 * stratified difference (statsmodels OLS with HC0/HC2 covariance) and the minimum detectable lift of
 * two proportions (statsmodels sample size, inverted).
 */
import { describe, expect, it } from 'vitest';
import { analyzeArms } from '../../../domain/decision/analyze-arms.js';
import { bayesianArm } from '../../../domain/decision/bayesian-evidence.js';
import { estimateArms } from '../../../domain/report/estimates.js';
import { averageRanks, quantiles, spearman } from '../../../domain/prediction/calibration.js';
import type { CellStats, MetricSpec, Moments } from '../../../domain/types.js';
import { betaTails, compareMeans, compareRatios, credibleInterval, minimumDetectableEffectProportions, spendingBoundaries, type SpendingFunction, probabilityBest, sequentialEffect, stratifiedDifference, type Posterior, type RatioMoments } from '../../../domain/stats/index.js';
import { loadFixture } from './helpers.js';

type N = number | null;
interface Fixture {
  probabilityBestPointMass: { posteriors: Posterior[]; direction: 'increase' | 'decrease'; probabilityBest: number[]; monteCarlo: number[]; draws: number }[];
  stratified: {
    metricType: 'binary' | 'continuous';
    alpha: number;
    cells: CellStats[];
    reference: { estimate: number; standardError: number; controlMean: number; pValue: N; ci: [number, number] | null; relative: { estimate: number; ci: [number, number] } | null } | null;
  }[];
  mdeProportions: { pControl: number; nTreatment: number; alpha: number; power: number; ratio: number; mde: N }[];
  bayesianAnalyze: {
    metricType: 'binary' | 'continuous';
    control: { n: number; sum: number; sumSquares?: number };
    treatment: { n: number; sum: number; sumSquares?: number };
    alpha: number;
    direction: 'increase' | 'decrease';
    relative: { ci: [N, N]; error: string | null };
  }[];
  betaExtreme: { alpha: number; beta: number; level: number; x: number; cdf: number; sf: number; ci: [number, number] }[];
  spendingBoundaries: { informationFractions: number[]; alpha: number; spending: SpendingFunction; boundaries: number[] }[];
  scoring: { a: number[]; b: number[]; q: number; spearman: N; quantile: number; ranks: number[] }[];
  ratioSequential: { control: RatioMoments; treatment: RatioMoments; alpha: number; tuningN: number; absolute: GbResult; relative: GbResult }[];
}
interface GbResult {
  estimate: N;
  ci: [N, N];
  pValue: N;
  error: string | null;
}

const fx = loadFixture<Fixture>('random-decision.json');

/** Collects every mismatch so one run lists them all. */
class Mismatches {
  readonly list: string[] = [];
  close(label: string, actual: number | null | undefined, expected: number, tol: number): void {
    if (typeof actual !== 'number' || !(Math.abs(actual - expected) <= tol)) this.list.push(`${label}: got ${actual}, reference ${expected}`);
  }
  check(label: string, ok: boolean, detail = ''): void {
    if (!ok) this.list.push(`${label} ${detail}`);
  }
  expectNone(): void {
    expect(this.list.slice(0, 40), `${this.list.length} mismatches`).toEqual([]);
  }
}

describe('P(best) with zero-variance (point-mass) posteriors', () => {
  it('matches scipy quadrature of the definition, and a 2e6-draw Monte Carlo of the arms', () => {
    const m = new Mismatches();
    for (const c of fx.probabilityBestPointMass) {
      const label = `k=${c.posteriors.length} ${c.direction} v=${c.posteriors.map((p) => (p.kind === 'normal' ? p.variance.toPrecision(2) : '?')).join(',')}`;
      const got = probabilityBest(c.posteriors, c.direction);
      m.check(`${label} sums to 1`, Math.abs(got.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      c.probabilityBest.forEach((p, i) => m.close(`${label} [${i}] quadrature`, got[i], p, 1e-7));
      // Monte Carlo standard error ≤ 0.5/√draws ≈ 3.5e-4: 5 SE.
      c.monteCarlo.forEach((p, i) => m.close(`${label} [${i}] Monte Carlo`, got[i], p, 2e-3));
    }
    m.expectNone();
  });
});

describe('stratified difference (segment × period) on random cells', () => {
  it('matches the contrast of a statsmodels OLS on raw units (HC0 binary, HC2 continuous)', () => {
    const m = new Mismatches();
    for (const [i, c] of fx.stratified.entries()) {
      const label = `case ${i} ${c.metricType} strata=${c.cells.length / 2}`;
      const r = stratifiedDifference(c.cells, { metricType: c.metricType, control: 'c', treatment: 't', alpha: c.alpha, strata: 'segment-period' });
      const ref = c.reference;
      if (ref === null) {
        m.check(`${label} no stratum with both arms`, r.reason === 'empty-arm' && r.pValue === 1 && r.ci === null, JSON.stringify(r.reason));
        continue;
      }
      const scale = Math.max(Math.abs(ref.estimate), ref.standardError, 1e-12 * Math.max(1, Math.abs(ref.controlMean)));
      // OLS recovers cell means to a few ulps of their magnitude; the engine takes them from sums.
      m.close(`${label} estimate`, r.estimate, ref.estimate, 1e-9 * scale + 1e-13 * Math.max(1, Math.abs(ref.controlMean)));
      if (ref.standardError === 0) {
        m.check(`${label} zero variance`, r.reason === 'zero-variance' && r.pValue === 1 && r.ci === null, JSON.stringify(r.reason));
        continue;
      }
      m.close(`${label} se`, r.standardError, ref.standardError, 1e-7 * ref.standardError);
      if (ref.pValue !== null) m.close(`${label} pValue`, r.pValue, ref.pValue, 1e-6 * Math.max(ref.pValue, 1e-300));
      if (ref.ci) {
        const w = ref.ci[1] - ref.ci[0];
        m.close(`${label} ci.lo`, r.ci?.[0], ref.ci[0], 1e-7 * w);
        m.close(`${label} ci.hi`, r.ci?.[1], ref.ci[1], 1e-7 * w);
      }
      m.close(`${label} control mean`, r.controlMean, ref.controlMean, 1e-9 * Math.max(1, Math.abs(ref.controlMean)));
      if (ref.relative) {
        const w = ref.relative.ci[1] - ref.relative.ci[0];
        m.check(`${label} relative present`, r.relative !== null, String(r.relativeReason));
        m.close(`${label} relative`, r.relative?.estimate, ref.relative.estimate, 1e-7 * Math.max(w, Math.abs(ref.relative.estimate)));
        m.close(`${label} relative ci.lo`, r.relative?.ci[0], ref.relative.ci[0], 1e-6 * w);
        m.close(`${label} relative ci.hi`, r.relative?.ci[1], ref.relative.ci[1], 1e-6 * w);
      }
    }
    m.expectNone();
  });
});

describe('minimum detectable lift of two proportions on random designs', () => {
  it('inverts statsmodels samplesize_proportions_2indep_onetail (or says not detectable)', () => {
    const m = new Mismatches();
    for (const c of fx.mdeProportions) {
      const label = `pc=${c.pControl} n=${c.nTreatment} α=${c.alpha} power=${c.power} ratio=${c.ratio}`;
      const r = minimumDetectableEffectProportions(c);
      if (c.mde === null) m.check(`${label} not detectable`, r.reason === 'not-detectable', JSON.stringify(r));
      else {
        m.check(`${label} detectable`, r.reason === undefined, JSON.stringify(r));
        m.close(`${label} mde`, r.mde, c.mde, 1e-9 * c.mde);
      }
    }
    m.expectNone();
  });
});

describe('ratio metrics, always-valid, on random units', () => {
  it('match gbstats SequentialTwoSidedTTest on RatioStatistic (absolute and relative)', () => {
    const m = new Mismatches();
    for (const [i, c] of fx.ratioSequential.entries()) {
      const label = `case ${i} n=${c.control.n}/${c.treatment.n} α=${c.alpha} N*=${c.tuningN}`;
      const r = sequentialEffect(compareRatios(c.control, c.treatment, c.alpha), c.control.n + c.treatment.n, c.alpha, c.tuningN);
      const abs = c.absolute;
      if (abs.error || abs.ci[0] === null || abs.ci[1] === null || abs.pValue === null || abs.estimate === null) continue;
      const w = abs.ci[1] - abs.ci[0];
      m.close(`${label} estimate`, r.estimate, abs.estimate, 1e-9 * Math.max(w, Math.abs(abs.estimate)));
      m.close(`${label} ci.lo`, r.ci?.[0], abs.ci[0], 1e-7 * w);
      m.close(`${label} ci.hi`, r.ci?.[1], abs.ci[1], 1e-7 * w);
      m.close(`${label} p`, r.pValue, abs.pValue, 1e-6 * Math.max(abs.pValue, 1e-300));
      const rel = c.relative;
      if (rel.error || rel.ci[0] === null || rel.ci[1] === null || rel.estimate === null) continue;
      const rw = rel.ci[1] - rel.ci[0];
      m.close(`${label} relative`, r.relative?.estimate, rel.estimate, 1e-9 * Math.max(rw, Math.abs(rel.estimate)));
      m.close(`${label} relative ci.lo`, r.relative?.ci[0], rel.ci[0], 1e-7 * rw);
      m.close(`${label} relative ci.hi`, r.relative?.ci[1], rel.ci[1], 1e-7 * rw);
    }
    m.expectNone();
  });
});

describe('the decision step and the report on one stratum equal gbstats (random.json gbstats cases)', () => {
  interface GbCase {
    metricType: 'binary' | 'continuous';
    control: Moments;
    treatment: Moments;
    alpha: number;
    tuningN: number;
    absolute: { sequential: GbResult };
    relative: { fixed: GbResult; sequential: GbResult };
  }
  const cases = loadFixture<{ gbstats?: { cases: GbCase[] } }>('random.json').gbstats?.cases ?? [];
  it.runIf(cases.length > 0)('analyzeArms (what decisions use) and estimateArms (the report) give SequentialTwoSidedTTest\'s interval, p-value and relative interval', () => {
    const m = new Mismatches();
    for (const c of cases) {
      const label = `${c.metricType} ${c.control.sum}/${c.control.n} vs ${c.treatment.sum}/${c.treatment.n} α=${c.alpha} N*=${c.tuningN}`;
      const metric: MetricSpec = { key: 'm', event: 'e', type: c.metricType, role: 'primary', direction: 'increase' };
      const cells: CellStats[] = [
        { metric: 'm', variant: 'c', segment: 0, period: 0, moments: c.control },
        { metric: 'm', variant: 't', segment: 0, period: 0, moments: c.treatment },
      ];
      const options = { metrics: [metric], control: 'c', variants: ['c', 't'], alpha: c.alpha, tuningN: c.tuningN };
      const [decision] = analyzeArms({ ...options, cells });
      const [report] = estimateArms(cells, options);
      m.check(`${label} report = decision`, JSON.stringify([report?.ci, report?.pValue, report?.relative]) === JSON.stringify([decision?.ci, decision?.pValue, decision?.relative]));
      const ref = c.absolute.sequential;
      if (ref.error || ref.ci[0] === null || ref.ci[1] === null || ref.pValue === null) continue;
      const w = ref.ci[1] - ref.ci[0];
      m.close(`${label} ci.lo`, decision?.ci?.[0], ref.ci[0], 1e-6 * w);
      m.close(`${label} ci.hi`, decision?.ci?.[1], ref.ci[1], 1e-6 * w);
      m.close(`${label} p`, decision?.pValue, ref.pValue, 1e-6 * Math.max(ref.pValue, 1e-300));
      const rel = c.relative.sequential;
      if (rel.error || rel.ci[0] === null || rel.ci[1] === null || !decision?.relative) continue;
      const rw = rel.ci[1] - rel.ci[0];
      m.close(`${label} relative ci.lo`, decision.relative.ci[0], rel.ci[0], 1e-6 * rw);
      m.close(`${label} relative ci.hi`, decision.relative.ci[1], rel.ci[1], 1e-6 * rw);
    }
    m.expectNone();
  });
});

describe('Bayesian decision: the relative interval the minimum-lift rule reads', () => {
  it('is the credible interval of the delta-method lift (gbstats EffectBayesianABTest relative), not the absolute interval over a control mean taken as known', () => {
    const m = new Mismatches();
    for (const c of fx.bayesianAnalyze) {
      const ref = c.relative;
      if (ref.error || ref.ci[0] === null || ref.ci[1] === null) continue;
      const label = `${c.metricType} n=${c.control.n}/${c.treatment.n} α=${c.alpha}`;
      const moments = (a: { n: number; sum: number; sumSquares?: number }): Moments => ({ n: a.n, sum: a.sum, sumSquares: a.sumSquares ?? a.sum });
      const cells: CellStats[] = [
        { metric: 'm', variant: 'c', segment: 0, period: 0, moments: moments(c.control) },
        { metric: 'm', variant: 't', segment: 0, period: 0, moments: moments(c.treatment) },
      ];
      const metric: MetricSpec = { key: 'm', event: 'e', type: c.metricType, role: 'primary', direction: c.direction };
      const b = bayesianArm(cells, metric, 'c', 't', c.alpha);
      const w = ref.ci[1] - ref.ci[0];
      m.close(`${label} relativeCi.lo`, b.relativeCi?.[0], ref.ci[0], 1e-7 * w);
      m.close(`${label} relativeCi.hi`, b.relativeCi?.[1], ref.ci[1], 1e-7 * w);
    }
    m.expectNone();
  });
});

describe('Beta posteriors of huge arms with few conversions (one shape parameter up to 1e10)', () => {
  it('both tails and the equal-tailed credible interval match scipy betainc / beta.ppf', () => {
    const m = new Mismatches();
    for (const c of fx.betaExtreme) {
      const label = `Beta(${c.alpha}, ${c.beta}) x=${c.x}`;
      const [lower, upper] = betaTails(c.x, c.alpha, c.beta);
      // 1e-7 relative, or 5e-8 absolute: within ~1 sd of the mean of Beta(5, 1e9) the continued
      // fraction (its tail switch is at the mean) converges slowly and keeps ~2e-8 absolute.
      m.close(`${label} cdf`, lower, c.cdf, 1e-7 * c.cdf + 5e-8);
      m.close(`${label} sf`, upper, c.sf, 1e-7 * c.sf + 5e-8);
      const ci = credibleInterval({ kind: 'beta', alpha: c.alpha, beta: c.beta }, c.level);
      // Quantiles near 1 are compared by their distance to 1, which doubles resolve only to ~1.1e-16.
      const close = (got: number, ref: number, what: string) => (ref > 0.5 ? m.close(`${label} ${what} (1 − q)`, 1 - got, 1 - ref, 1e-7 * (1 - ref) + 5e-16) : m.close(`${label} ${what}`, got, ref, 1e-7 * ref));
      close(ci[0], c.ci[0], 'ci.lo');
      close(ci[1], c.ci[1], 'ci.hi');
    }
    m.expectNone();
  });
});

describe('fixed-horizon relative lift of continuous metrics (random.json gbstats cases)', () => {
  const cases = loadFixture<{ gbstats?: { cases: { metricType: string; control: Moments; treatment: Moments; alpha: number; relative: { fixed: GbResult } }[] } }>('random.json').gbstats?.cases ?? [];
  it.runIf(cases.length > 0)('compareMeans().relative matches gbstats TwoSidedTTest(difference_type="relative") (delta method, Welch t quantile)', () => {
    const m = new Mismatches();
    for (const c of cases) {
      const ref = c.relative.fixed;
      if (c.metricType !== 'continuous' || ref.error || ref.ci[0] === null || ref.ci[1] === null || ref.estimate === null) continue;
      const label = `n=${c.control.n}/${c.treatment.n} α=${c.alpha}`;
      const r = compareMeans(c.control, c.treatment, c.alpha).relative;
      const w = ref.ci[1] - ref.ci[0];
      m.close(`${label} relative`, r?.estimate, ref.estimate, 1e-9 * Math.max(w, Math.abs(ref.estimate)));
      m.close(`${label} relative ci.lo`, r?.ci[0], ref.ci[0], 1e-6 * w);
      m.close(`${label} relative ci.hi`, r?.ci[1], ref.ci[1], 1e-6 * w);
    }
    m.expectNone();
  });
});

describe('group-sequential spending boundaries on random designs', () => {
  it('match boundaries solved with scipy multivariate-normal integration (O\'Brien–Fleming and Pocock type)', () => {
    const m = new Mismatches();
    for (const c of fx.spendingBoundaries) {
      const label = `${c.spending} α=${c.alpha} t=${c.informationFractions.map((t) => t.toFixed(3)).join(',')}`;
      const d = spendingBoundaries(c);
      // Jennison–Turnbull's grid (r = 32) integrates to ~1e-6 in α, a few 1e-6 on the Z scale.
      c.boundaries.forEach((b, i) => m.close(`${label} b[${i}]`, d.boundaries[i], b, 2e-5 * b));
    }
    m.expectNone();
  });
});

describe('time-to-significance scoring (prediction/calibration) on random samples', () => {
  it('Spearman correlation, type-7 quantiles and average ranks match scipy/numpy (ties included; constant input: 0)', () => {
    const m = new Mismatches();
    for (const [i, c] of fx.scoring.entries()) {
      m.close(`case ${i} spearman`, spearman(c.a, c.b), c.spearman ?? 0, 1e-12);
      m.close(`case ${i} quantile`, quantiles(c.a, [c.q])[0], c.quantile, 1e-12 * Math.max(1, Math.abs(c.quantile)));
      m.check(`case ${i} ranks`, JSON.stringify(averageRanks(c.a)) === JSON.stringify(c.ranks));
    }
    m.expectNone();
  });
});

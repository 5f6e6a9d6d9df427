/**
 * Normal distribution and the special functions the rest of the stats module builds on: the one
 * numerical module. jStat is used where it holds against the scipy fixtures (starting points of the
 * normal and t quantiles); each hand-written function says where jStat fails. In short: jStat's
 * normal.cdf is 0.5·(1+erf) and loses all relative precision below z ≈ −8, so the tail is computed
 * from erfc directly, and p-values of 1e-300 stay finite and positive instead of becoming 0.
 */
import jstatModule from 'jstat';

const { jStat } = jstatModule;

// Chebyshev coefficients of erfc on [0, ∞) (Numerical Recipes 3rd ed., §6.2.2 "Erf"), ~1e-16 relative.
// jStat.erf evaluates this same series but returns 1 − erfc, and its erfc is 1 − erf: both cancel.
const ERFC_COF = [
  -1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3,
  -9.46595344482036e-4, 3.66839497852761e-4, 4.2523324806907e-5, -2.0278578112534e-5,
  -1.624290004647e-6, 1.30365583558e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9,
  5.059343495e-9, -9.91364156e-10, -2.27365122e-10, 9.6467911e-11, 2.394038e-12, -6.886027e-12,
  8.94487e-13, 3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16,
  -2.8e-17,
] as const;
// Clenshaw's recurrence runs from the last coefficient down to the second; the first enters at the end.
const [ERFC_COF0, ...ERFC_COF_TAIL] = ERFC_COF;
const ERFC_COF_DOWN: readonly number[] = [...ERFC_COF_TAIL].reverse();

function erfcNonNegative(z: number): number {
  const t = 2 / (2 + z);
  const ty = 4 * t - 2;
  let d = 0;
  let dd = 0;
  for (const c of ERFC_COF_DOWN) {
    const tmp = d;
    d = ty * d - dd + c;
    dd = tmp;
  }
  return t * Math.exp(-z * z + 0.5 * (ERFC_COF0 + ty * d) - dd);
}

/** Complementary error function with full relative precision in the upper tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 0;
  if (x === -Infinity) return 2;
  return x >= 0 ? erfcNonNegative(x) : 2 - erfcNonNegative(-x);
}

/** Standard normal CDF Φ(x), accurate in the far lower tail. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal survival function 1 − Φ(x), accurate in the far upper tail. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** Two-sided p-value 2·(1 − Φ(|z|)) of a z statistic; 1 for z = 0, never NaN for finite z. */
export function twoSidedPValue(z: number): number {
  if (Number.isNaN(z)) return 1;
  return Math.min(1, 2 * normalSf(Math.abs(z)));
}

/**
 * Standard normal quantile Φ⁻¹(p). jStat's normal.inv is the start: it holds to ~1e-15 in the body
 * but only 1e-3 at p = 1e-300 and 4e-7 at 1 − 1e-12, because it iterates on jStat's erfc (1 − erf,
 * which cancels in the tail). Halley steps on the erfc-based CDF take it to ~1e-16 everywhere
 * (scipy fixtures). p = 0 / 1 give ∓Infinity.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0)) return p === 0 ? -Infinity : NaN;
  if (!(p < 1)) return p === 1 ? Infinity : NaN;
  if (p === 0.5) return 0;
  let x: number = jStat.normal.inv(p, 0, 1);
  for (let i = 0; i < 4; i++) {
    // The error term uses the tail that keeps relative precision.
    const e = x < 0 ? normalCdf(x) - p : -(normalSf(x) - (1 - p));
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
    const step = u / (1 + 0.5 * x * u);
    x -= step;
    if (!(Math.abs(step) > 1e-15 * Math.abs(x))) break;
  }
  return x;
}

/** Upper critical value z_{1−α/2} of a two-sided test at level α. */
export function twoSidedCritical(alpha: number): number {
  return normalQuantile(1 - alpha / 2);
}

// Lanczos coefficients from Numerical Recipes 3rd ed. §6.1 (gammln), ~1e-15 relative; jStat's
// 6-term version is only ~1e-10, which showed up as 4e-8 errors in t-test p-values.
const GAMMALN_COF = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199,
  0.339946499848118887e-4, 0.465236289270485756e-4, -0.983744753048795646e-4, 0.158088703224912494e-3,
  -0.210264441724104883e-3, 0.217439618115212643e-3, -0.16431810653676389e-3, 0.844182239838527433e-4,
  -0.261908384015814087e-4, 0.368991826595316234e-5,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Infinity;
  let y = x;
  let tmp = x + 5.2421875;
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.999999999999997092;
  for (const c of GAMMALN_COF) ser += c / ++y;
  return tmp + Math.log((2.5066282746310005 * ser) / x);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const fpmin = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < fpmin) d = fpmin;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < fpmin) d = fpmin;
    c = 1 + aa / c;
    if (Math.abs(c) < fpmin) c = fpmin;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < fpmin) d = fpmin;
    c = 1 + aa / c;
    if (Math.abs(c) < fpmin) c = fpmin;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= 1e-16) break;
  }
  return h;
}

/**
 * Regularised upper incomplete gamma Q(a, x), computed directly (series for x < a+1, Lentz continued
 * fraction otherwise; Numerical Recipes §6.2) so chi-square tail p-values keep relative precision.
 * jStat only has the lower P(a, x), and 1 − P is 0 for the SRM p-values that matter (χ² = 200, df 3).
 */
export function upperRegularizedGamma(a: number, x: number): number {
  if (!(x > 0)) return 1;
  if (x === Infinity) return 0;
  const lnPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let i = 0; i < 10000; i++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-17) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lnPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(lnPrefix) * h;
}

// Stirling remainder lgamma(x) − [(x−½)ln x − x + ½ln 2π] for x ≥ 10 (error < 1e-14 there).
function stirlingRemainder(x: number): number {
  const r = 1 / (x * x);
  return (1 / x) * (1 / 12 - r * (1 / 360 - r * (1 / 1260 - r * (1 / 1680 - r / 1188))));
}

/**
 * ln B(a, b). For both arguments ≥ 10 it uses the Stirling form (R's lbeta): lgamma(a+b) is ~1e9 at
 * a+b = 1e8, and subtracting three such numbers would leave ~1e-7 of rounding in every Beta density
 * and tail; the Stirling form keeps ~1e-14 at any size.
 */
function logBeta(a: number, b: number): number {
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  if (!(p > 0)) return Infinity;
  if (p >= 10) {
    const corr = stirlingRemainder(p) + stirlingRemainder(q) - stirlingRemainder(p + q);
    return -0.5 * Math.log(q) + 0.5 * Math.log(2 * Math.PI) + corr + (p - 0.5) * Math.log(p / (p + q)) + q * Math.log1p(-p / (p + q));
  }
  if (q >= 10) {
    // lgamma(q) − lgamma(p + q) by the same Stirling form: subtracting the two (each ~2e10 at
    // q = 1e9) left ~1e-6 in every tail of Beta(1, 1e9) (zero conversions in a billion units), and
    // Beta(1, 1e9)'s 2.5% quantile 8e-7 off scipy's.
    return logGamma(p) - p * Math.log(p + q) - (q - 0.5) * Math.log1p(p / q) + p + stirlingRemainder(q) - stirlingRemainder(p + q);
  }
  return logGamma(p) + logGamma(q) - logGamma(p + q);
}

/**
 * ln[x^a·(1−x)^b / B(a, b)], the factor in front of the incomplete beta's continued fraction. For
 * a, b ≥ 10 it is written around the mean (u = x·(a+b) − a), as Boost's ibeta_power_terms does: the
 * naive a·ln x + b·ln(1−x) − ln B(a, b) subtracts numbers of size ~a, which at a = 1e7 leaves 1e-8
 * of noise in every tail, enough to stall adaptive quadrature. Here the errors in u cancel to first
 * order between the two log1p terms, so it stays ~1e-13 at any size.
 */
function logBetaPowerTerm(x: number, a: number, b: number): number {
  if (Math.min(a, b) < 10) return a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  const s = a + b;
  const u = x * s - a;
  const corr = stirlingRemainder(a) + stirlingRemainder(b) - stirlingRemainder(s);
  return a * Math.log1p(u / a) + b * Math.log1p(-u / b) + 0.5 * Math.log((a * b) / s) - 0.5 * Math.log(2 * Math.PI) - corr;
}

/**
 * Both tails [I_x(a, b), 1 − I_x(a, b)] of the Beta(a, b) distribution at x (Numerical Recipes §6.4
 * continued fraction). The smaller tail is the one computed directly, so it keeps relative precision
 * where 1 − (the other) would round to 0. jStat.ibeta is not used: its continued fraction stops after
 * 100 terms at a 3e-7 tolerance, and its prefactor uses ln(1 − x) and a 1e-10 log-gamma, which is
 * wrong by far more than 1e-6 at the counts experiments reach (a + b ~ 1e6; see the scipy fixtures).
 */
export function betaTails(x: number, a: number, b: number): [number, number] {
  if (!(x > 0)) return [0, 1];
  if (!(x < 1)) return [1, 0];
  const lnBt = logBetaPowerTerm(x, a, b);
  if (x < (a + 1) / (a + b + 2)) {
    const lower = (Math.exp(lnBt) * betaContinuedFraction(a, b, x)) / a;
    return [lower, 1 - lower];
  }
  const upper = (Math.exp(lnBt) * betaContinuedFraction(b, a, 1 - x)) / b;
  return [1 - upper, upper];
}

/** Regularised incomplete beta I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  return betaTails(x, a, b)[0];
}

/** ln of the Beta(a, b) density at x; −Infinity outside [0, 1]. Endpoints give the limit, not NaN. */
export function betaLogPdf(x: number, a: number, b: number): number {
  if (x < 0 || x > 1) return -Infinity;
  if (x > 0 && x < 1 && Math.min(a, b) >= 10) return logBetaPowerTerm(x, a, b) - Math.log(x) - Math.log1p(-x);
  const left = a === 1 ? 0 : (a - 1) * Math.log(x);
  const right = b === 1 ? 0 : (b - 1) * Math.log1p(-x);
  const v = left + right - logBeta(a, b);
  return Number.isNaN(v) ? -Infinity : v;
}

/**
 * Student t CDF with ν degrees of freedom; ν = Infinity falls back to the normal. Not jStat's
 * studentt.cdf: its p-values are off by 1e-10 to 1e-7 and become 0 beyond |t| ≈ 8 (scipy fixtures).
 */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e7) return normalCdf(t);
  if (t === 0) return 0.5;
  // Lower tail via I_{ν/(ν+t²)}(ν/2, 1/2)/2, which keeps precision for large |t|.
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

/** Two-sided p-value of a t statistic with ν degrees of freedom. */
export function studentTTwoSidedPValue(t: number, df: number): number {
  if (Number.isNaN(t)) return 1;
  if (!Number.isFinite(df) || df > 1e7) return twoSidedPValue(t);
  if (t === 0) return 1;
  return Math.min(1, regularizedBeta(df / (df + t * t), df / 2, 0.5));
}

/** Student t quantile; Newton on the CDF from the normal quantile (ν ≥ 1). */
export function studentTQuantile(p: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e7) return normalQuantile(p);
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p === 0.5) return 0;
  // jStat's inverse is a good start; Newton polishes it to ~1e-12.
  let x: number = jStat.studentt.inv(p, df);
  if (!Number.isFinite(x)) x = normalQuantile(p);
  for (let i = 0; i < 50; i++) {
    const f = studentTCdf(x, df) - p;
    const dens = Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((x * x) / df));
    if (!(dens > 0)) break;
    const step = f / dens;
    x -= step;
    if (Math.abs(step) < 1e-14 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/** Chi-square survival function P(X² > x) with k degrees of freedom. */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0)) return 1;
  return upperRegularizedGamma(df / 2, x / 2);
}

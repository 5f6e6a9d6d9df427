"""Reference values for domain/stats from scipy, statsmodels and (if installed) GrowthBook's gbstats.

Writes JSON fixtures to test/fixtures/stats/. The TypeScript tests read them, so the tests never need
Python; rerun with `npm run fixtures:stats` after changing the grid.
"""
import json
import math
import os
import sys

import numpy as np
from scipy import integrate, optimize, stats
from statsmodels.stats import multitest, power as smpower, proportion as smprop
import statsmodels.api as sm

from fixture_json import clean

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "stats")
os.makedirs(OUT, exist_ok=True)


def write(name, data):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(clean(data), f, indent=1)
        f.write("\n")
    print(f"wrote {name}")


def moments_from(n, mean, sd):
    return {"n": n, "sum": n * mean, "sumSquares": (n - 1) * sd * sd + n * mean * mean}


# ---- special functions -------------------------------------------------------------------------
special = {
    "normalCdf": [[x, stats.norm.cdf(x)] for x in [-37.5, -20, -8.5, -3, -1, 0, 0.5, 1.96, 3, 6, 8.5]],
    "normalSf": [[x, stats.norm.sf(x)] for x in [-3, 0, 1.5, 5, 8.5, 20, 37]],
    "normalQuantile": [[p, stats.norm.ppf(p)] for p in [1e-300, 1e-100, 1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999, 1 - 1e-12]],
    "studentTTwoSided": [[t, df, 2 * stats.t.sf(abs(t), df)] for t, df in [(0.3, 3), (2.1, 17.3), (-4.5, 8), (10, 120.5), (25, 40), (2.0, 1), (1.5, 5000.5)]],
    "studentTQuantile": [[p, df, stats.t.ppf(p, df)] for p, df in [(0.975, 1), (0.975, 2.5), (0.975, 17.3), (0.995, 40), (0.025, 9), (0.9, 1000.5)]],
    "chiSquareSf": [[x, df, stats.chi2.sf(x, df)] for x, df in [(0.5, 1), (3.84, 1), (10, 3), (200, 3), (2, 5), (900, 2), (50, 40)]],
}
write("special.json", special)

# ---- two proportions ---------------------------------------------------------------------------
prop_cases = [
    (100, 1000, 120, 1000, 0.05),
    (50, 2000, 61, 2100, 0.05),
    (5, 10, 7, 12, 0.1),
    (0, 1000, 10, 1000, 0.05),
    (990, 1000, 1000, 1000, 0.05),
    (1234567, 100_000_000, 1240000, 100_000_000, 0.05),
    (300, 5000, 240, 5000, 0.01),
    (1, 3, 2, 3, 0.05),
]
proportions = []
for xc, nc, xt, nt, alpha in prop_cases:
    z, p = smprop.proportions_ztest([xt, xc], [nt, nc])
    lo, hi = smprop.confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff", alpha=alpha)
    pc, pt = xc / nc, xt / nt
    rel = None
    if pc > 0:
        var = pt * (1 - pt) / nt / pc**2 + pt**2 * pc * (1 - pc) / nc / pc**4
        q = stats.norm.ppf(1 - alpha / 2)
        r = pt / pc - 1
        rel = {"estimate": r, "ci": [r - q * math.sqrt(var), r + q * math.sqrt(var)]}
    proportions.append({
        "control": {"n": nc, "successes": xc}, "treatment": {"n": nt, "successes": xt}, "alpha": alpha,
        "estimate": pt - pc, "z": z, "pValue": p, "ci": [lo, hi], "relative": rel,
        "cohensH": smprop.proportion_effectsize(pt, pc),
    })
write("proportions.json", proportions)

# ---- Welch t -----------------------------------------------------------------------------------
mean_cases = [
    ((1000, 10.0, 3.0), (1000, 10.3, 3.2), 0.05),
    ((50, 1.0, 2.0), (80, 1.8, 4.0), 0.05),
    ((5, 0.0, 1.0), (7, 2.0, 3.0), 0.1),
    ((100000, 55.2, 80.0), (100000, 55.9, 81.0), 0.05),
    ((30, 3.0, 0.5), (30, 2.5, 0.4), 0.01),
    ((2, 1.0, 1.0), (2, 3.0, 1.0), 0.05),
]
means = []
for (nc, mc, sc), (nt, mt, st), alpha in mean_cases:
    res = stats.ttest_ind_from_stats(mt, st, nt, mc, sc, nc, equal_var=False)
    a, b = sc**2 / nc, st**2 / nt
    df = (a + b) ** 2 / (a**2 / (nc - 1) + b**2 / (nt - 1))
    se = math.sqrt(a + b)
    q = stats.t.ppf(1 - alpha / 2, df)
    r = mt / mc - 1 if mc != 0 else None
    rel = None
    if mc != 0:
        rv = b / mc**2 + mt**2 * a / mc**4
        rel = {"estimate": r, "ci": [r - q * math.sqrt(rv), r + q * math.sqrt(rv)]}
    sp = math.sqrt(((nc - 1) * sc**2 + (nt - 1) * st**2) / (nc + nt - 2))
    means.append({
        "control": moments_from(nc, mc, sc), "treatment": moments_from(nt, mt, st), "alpha": alpha,
        "estimate": mt - mc, "t": res.statistic, "df": df, "pValue": res.pvalue,
        "ci": [mt - mc - q * se, mt - mc + q * se], "relative": rel, "cohensD": (mt - mc) / sp,
    })
write("means.json", means)

# ---- chi-square --------------------------------------------------------------------------------
tables = [
    [[100, 900], [120, 880]],
    [[100, 900], [120, 880], [90, 910]],
    [[10, 20, 30], [6, 9, 17]],
    [[5000, 95000], [5200, 94800], [5100, 94900], [4950, 95050]],
    [[1, 0], [0, 1]],
]
independence = []
for t in tables:
    chi2, p, dof, _ = stats.chi2_contingency(np.array(t), correction=False)
    independence.append({"table": t, "statistic": chi2, "df": dof, "pValue": p})
gof = []
for obs, exp in [([50, 50], [45, 55]), ([5050, 4950, 5000], [5000, 5000, 5000]), ([10300, 9700], [10000, 10000]), ([1, 2, 3, 4], [2.5, 2.5, 2.5, 2.5])]:
    s, p = stats.chisquare(obs, exp)
    gof.append({"observed": obs, "expected": exp, "statistic": s, "pValue": p})
write("chi-square.json", {"independence": independence, "goodnessOfFit": gof})

# ---- SRM over allocation periods ---------------------------------------------------------------
srm_cases = [
    {"periods": [{"weights": [0.5, 0.5], "n": 10000}], "observed": [5050, 4950]},
    {"periods": [{"weights": [0.5, 0.5], "n": 10000}, {"weights": [0.2, 0.8], "n": 10000}], "observed": [7000, 13000]},
    {"periods": [{"weights": [0.5, 0.5], "n": 10000}, {"weights": [0.2, 0.8], "n": 10000}], "observed": [10000, 10000]},
    {"periods": [{"weights": [1, 1, 1], "n": 3000}, {"weights": [0.6, 0.3, 0.1], "n": 7000}], "observed": [5300, 3100, 1600]},
]
srm = []
for c in srm_cases:
    k = len(c["observed"])
    exp = np.zeros(k)
    for p in c["periods"]:
        w = np.array(p["weights"], dtype=float)
        exp += p["n"] * w / w.sum()
    exp = exp * sum(c["observed"]) / exp.sum()
    s, pv = stats.chisquare(c["observed"], exp)
    srm.append({**c, "expected": exp.tolist(), "statistic": s, "pValue": pv})
write("srm.json", srm)

# ---- multiple testing --------------------------------------------------------------------------
pv_sets = [
    [0.01, 0.04, 0.03, 0.005],
    [0.2, 0.001, 0.049, 0.051, 0.5, 0.0001],
    [1e-10, 0.9, 0.03],
    [0.05],
    [0.02, 0.02, 0.02],
]
mt = []
for ps in pv_sets:
    mt.append({
        "pValues": ps,
        "holm": multitest.multipletests(ps, method="holm")[1].tolist(),
        "bh": multitest.multipletests(ps, method="fdr_bh")[1].tolist(),
    })
write("multiple-testing.json", mt)

# ---- power / sample size / MDE -----------------------------------------------------------------
power_props = []
for pc, pt, n, alpha, ratio in [(0.1, 0.12, 3000, 0.05, 1), (0.05, 0.045, 20000, 0.05, 1), (0.3, 0.35, 500, 0.1, 2), (0.5, 0.52, 10000, 0.01, 0.5)]:
    pw = smprop.power_proportions_2indep(pt - pc, pc, n, ratio=ratio, alpha=alpha, return_results=False)
    ss = smprop.samplesize_proportions_2indep_onetail(pt - pc, pc, 0.8, ratio=ratio, alpha=alpha)
    power_props.append({"pControl": pc, "pTreatment": pt, "nTreatment": n, "alpha": alpha, "ratio": ratio, "power": pw, "sampleSize80": ss})
power_means = []
for delta, sd, n, alpha, ratio in [(0.5, 3.0, 500, 0.05, 1), (1.0, 10.0, 1500, 0.05, 1), (0.2, 1.0, 200, 0.1, 2), (2.0, 25.0, 8000, 0.01, 1)]:
    es = delta / sd
    pw = smpower.NormalIndPower().power(es, n, alpha, ratio=ratio, alternative="two-sided")
    ss = smpower.normal_sample_size_one_tail(es, 0.8, alpha / 2, std_null=math.sqrt(1 + 1 / ratio))
    mde = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(0.8)) * sd * math.sqrt((1 + 1 / ratio) / n)
    power_means.append({"delta": delta, "sd": sd, "nTreatment": n, "alpha": alpha, "ratio": ratio, "power": pw, "sampleSize80": ss, "mde80": mde})
mde_props = []
for pc, n, alpha in [(0.1, 5000, 0.05), (0.02, 50000, 0.05), (0.5, 1000, 0.1)]:
    f = lambda d: smprop.samplesize_proportions_2indep_onetail(d, pc, 0.8, alpha=alpha) - n
    mde_props.append({"pControl": pc, "nTreatment": n, "alpha": alpha, "mde80": optimize.brentq(f, 1e-9, 1 - pc - 1e-9, xtol=1e-15)})
write("power.json", {"proportions": power_props, "means": power_means, "mdeProportions": mde_props})

# ---- Bayesian: Beta posteriors, P(best) by adaptive quadrature ---------------------------------
beta_ci = []
for a, b, alpha in [(1, 1, 0.05), (11, 91, 0.05), (121, 881, 0.1), (1, 1001, 0.05), (5001, 95001, 0.05)]:
    beta_ci.append({"alpha": a, "beta": b, "level": alpha, "ci": [stats.beta.ppf(alpha / 2, a, b), stats.beta.ppf(1 - alpha / 2, a, b)]})


def p_best_beta(params):
    out = []
    for j, (aj, bj) in enumerate(params):
        lo, hi = stats.beta.ppf([1e-13, 1 - 1e-13], aj, bj)
        f = lambda x: stats.beta.pdf(x, aj, bj) * np.prod([stats.beta.cdf(x, a, b) for i, (a, b) in enumerate(params) if i != j])
        out.append(integrate.quad(f, lo, hi, epsabs=1e-12, epsrel=1e-10, limit=400)[0])
    return out


p_best = []
for params in [[(101, 901), (121, 881)], [(101, 901), (121, 881), (111, 891)], [(21, 81), (25, 77), (18, 84), (22, 80)], [(2, 2), (3, 1)]]:
    p_best.append({"posteriors": [{"kind": "beta", "alpha": a, "beta": b} for a, b in params], "probabilityBest": p_best_beta(params)})
write("bayesian.json", {"betaCredibleIntervals": beta_ci, "probabilityBest": p_best})

# ---- Bayesian, binary: exact Beta comparisons vs an independent closed form and Monte Carlo ------
from scipy import special


def miller_p_greater(a1, b1, a2, b2):
    """P(B > A) for A ~ Beta(a1, b1), B ~ Beta(a2, b2), integer a2 (Evan Miller's sum, log space)."""
    i = np.arange(int(a2), dtype=float)
    logs = special.betaln(a1 + i, b1 + b2) - np.log(b2 + i) - special.betaln(1 + i, b2) - special.betaln(a1, b1)
    return float(np.exp(special.logsumexp(logs)))


def beta_sd(a, b):
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def narrow_first(c, t):
    """The narrower density to integrate over, its range and breakpoints (scipy's Beta cdf is Boost's)."""
    (ac, bc), (at, bt) = c, t
    na, nb = (ac, bc) if beta_sd(ac, bc) <= beta_sd(at, bt) else (at, bt)
    m, sd = na / (na + nb), beta_sd(na, nb)
    lo, hi = max(0.0, m - 40 * sd), min(1.0, m + 40 * sd)
    pts = sorted({min(hi, max(lo, m + k * sd)) for k in (-12, -6, -3, -1, 0, 1, 3, 6, 12)} - {lo, hi})
    return beta_sd(ac, bc) <= beta_sd(at, bt), (na, nb), lo, hi, pts or None


def diff_tail(c, t, d, upper):
    """P(T − C <= d), or P(T − C > d) when upper, by adaptive quadrature over the narrower density."""
    over_c, (na, nb), lo, hi, pts = narrow_first(c, t)
    if over_c:  # P(T <= C + d) = ∫ f_C(s) F_T(s + d) ds
        tail = stats.beta.sf if upper else stats.beta.cdf
        f = lambda s: stats.beta.pdf(s, na, nb) * tail(s + d, *t)
    else:  # P(C >= T − d) = ∫ f_T(u) S_C(u − d) du
        tail = stats.beta.cdf if upper else stats.beta.sf
        f = lambda u: stats.beta.pdf(u, na, nb) * tail(u - d, *c)
    return integrate.quad(f, lo, hi, points=pts, epsabs=1e-15, epsrel=1e-13, limit=1000)[0]


def diff_quantile(c, t, q):
    mean = t[0] / sum(t) - c[0] / sum(c)
    sdd = math.hypot(beta_sd(*c), beta_sd(*t))
    a, b = max(-1.0, mean - 20 * sdd), min(1.0, mean + 20 * sdd)
    g = (lambda d: diff_tail(c, t, d, False) - q) if q <= 0.5 else (lambda d: (1 - q) - diff_tail(c, t, d, True))
    return optimize.brentq(g, a, b, xtol=1e-14 * max(sdd, 1e-12), rtol=1e-14)


def expected_shortfall(x, y):
    """E[max(X − Y, 0)] = ∫ f_X(s)·E[max(s − Y, 0)] ds with the Beta partial expectation
    E[max(s − Y, 0)] = s·F_Y(s) − m_Y·F_{Y⁺}(s), Y⁺ ~ Beta(α_Y + 1, β_Y), by adaptive quadrature."""
    (ax, bx), (ay, by) = x, y
    my = ay / (ay + by)
    f = lambda s: stats.beta.pdf(s, ax, bx) * max(0.0, s * stats.beta.cdf(s, ay, by) - my * stats.beta.cdf(s, ay + 1, by))
    mx, sx = ax / (ax + bx), beta_sd(ax, bx)
    lo, hi = max(0.0, mx - 40 * sx), min(1.0, mx + 40 * sx)
    pts = sorted({min(hi, max(lo, m + k * sd)) for m, sd in ((mx, sx), (my, beta_sd(ay, by))) for k in (-12, -6, -3, -1, 0, 1, 3, 6, 12)} - {lo, hi})
    return integrate.quad(f, lo, hi, points=pts or None, epsabs=1e-16, epsrel=1e-12, limit=1000)[0]


mc_rng = np.random.default_rng(20261130)
MC_DRAWS = 2_000_000
binary_cases = []
grid = []
for n in [10, 100, 1000, 10_000, 100_000, 1_000_000]:
    for rate in [0.0, 0.001, 0.01, 0.1, 0.5]:
        xc = round(n * rate)
        for z, share in [(1.0, 1.0), (-2.0, 0.7)]:
            nt = max(1, round(n * share))
            rt = min(1.0, max(0.0, rate + z * math.sqrt(rate * (1 - rate) / n + 1 / n**2 + 1e-12)))
            grid.append((n, xc, nt, round(nt * rt), 0.05))
# Beyond the grid: 1e7 units per arm, where the engine must stay exact (to 1e-6) and fast.
grid += [(10_000_000, 100_000, 10_000_000, 100_400, 0.05), (10_000_000, 5_000_000, 9_000_000, 4_501_500, 0.05)]
# The two cases of issue 14 (control first): A arm2 vs arm0 (alpha 0.1), B arm1 vs arm0, lower is better.
grid.append((350, 0, 20, 0, 0.1))
grid.append((337, 1, 175436, 611, 0.2))
for nc, xc, nt, xt, alpha in grid:
    c, t = (1 + xc, 1 + nc - xc), (1 + xt, 1 + nt - xt)
    p_t = diff_tail(c, t, 0.0, True)  # P(T > C)
    p_c = diff_tail(c, t, 0.0, False)  # P(C > T) (ties have probability 0)
    loss_t = expected_shortfall(c, t)  # shipping T loses E[max(C − T, 0)]
    loss_c = expected_shortfall(t, c)
    ci = [diff_quantile(c, t, alpha / 2), diff_quantile(c, t, 1 - alpha / 2)]
    dc = mc_rng.beta(*c, MC_DRAWS)
    dt = mc_rng.beta(*t, MC_DRAWS)
    diff = dt - dc
    binary_cases.append({
        "control": {"n": nc, "successes": xc}, "treatment": {"n": nt, "successes": xt}, "alpha": alpha,
        "exact": {"pTreatmentHigher": p_t, "pControlHigher": p_c, "lossShipTreatment": loss_t, "lossKeepControl": loss_c, "ci": ci},
        # Evan Miller's closed-form sum, an independent check of P(T > C); in double precision its
        # log-sum loses ~1e-8 at 1e7 units, so the tests hold it to 1e-7.
        "closedForm": {"pTreatmentHigher": miller_p_greater(*c, *t)},
        "monteCarlo": {"draws": MC_DRAWS, "pTreatmentHigher": float(np.mean(diff > 0)), "lossShipTreatment": float(np.mean(np.maximum(-diff, 0))),
                       "lossKeepControl": float(np.mean(np.maximum(diff, 0))), "ci": np.quantile(diff, [alpha / 2, 1 - alpha / 2]).tolist(),
                       "sdOfDifference": float(np.std(diff))},
    })
# Issue 14 case A's four arms: P(best) by quadrature (points at every arm's bulk).
case_a = [(126, 1), (350, 0), (20, 0), (20, 0)]
params_a = [(1 + x, 1 + n - x) for n, x in case_a]


def p_best_points(params, direction="increase"):
    out = []
    pts = sorted({min(1.0, max(0.0, a / (a + b) + k * beta_sd(a, b))) for a, b in params for k in (-6, -3, -1, 0, 1, 3, 6, 12, 40)} - {0.0, 1.0})
    for j, (aj, bj) in enumerate(params):
        tail = stats.beta.cdf if direction == "increase" else stats.beta.sf
        f = lambda x: stats.beta.pdf(x, aj, bj) * np.prod([tail(x, a, b) for i, (a, b) in enumerate(params) if i != j])
        out.append(integrate.quad(f, 0, 1, points=pts, epsabs=1e-14, epsrel=1e-12, limit=800)[0])
    return out


p_best_low = [
    {"counts": case_a, "direction": "increase", "probabilityBest": p_best_points(params_a)},
    {"counts": [(337, 1), (175436, 611), (5000, 20)], "direction": "decrease", "probabilityBest": p_best_points([(2, 337), (612, 174826), (21, 4981)], "decrease")},
    {"counts": [(10, 0), (1_000_000, 10_000), (1_000_000, 10_150)], "direction": "increase", "probabilityBest": p_best_points([(1, 11), (10001, 990001), (10151, 989851)])},
]
write("bayesian-binary.json", {"cases": binary_cases, "probabilityBest": p_best_low})

# ---- ratio metric (delta method) ---------------------------------------------------------------
rng = np.random.default_rng(7)
ratio_cases = []
for nc, nt, lift in [(2000, 2100, 0.0), (500, 520, 0.1), (30, 25, 0.2)]:
    arms = []
    for n, l in [(nc, 0.0), (nt, lift)]:
        sessions = rng.poisson(3, n) + 1
        revenue = sessions * rng.gamma(2.0, 5.0 * (1 + l), n)
        arms.append({"n": n, "sum": revenue.sum(), "sumSquares": (revenue**2).sum(), "denSum": sessions.sum(),
                     "denSumSquares": (sessions**2).sum(), "crossSum": (revenue * sessions).sum(), "_y": revenue, "_x": sessions})
    refs = []
    for a in arms:
        y, x = a.pop("_y"), a.pop("_x")
        n = len(y)
        r = y.sum() / x.sum()
        # Linearisation: Var(R̂) = Var(y − R·x)/(n·x̄²) is the same first-order expansion.
        resid = y - r * x
        refs.append((r, resid.var(ddof=1) / (n * x.mean() ** 2)))
    (rc, vc), (rt, vt) = refs
    se = math.sqrt(vc + vt)
    z = (rt - rc) / se
    ratio_cases.append({"control": arms[0], "treatment": arms[1], "alpha": 0.05, "estimate": rt - rc, "standardError": se,
                        "pValue": 2 * stats.norm.sf(abs(z)), "ci": [rt - rc - 1.959963984540054 * se, rt - rc + 1.959963984540054 * se]})
write("ratio.json", ratio_cases)

# ---- GrowthBook gbstats cross-check (optional) -------------------------------------------------
try:
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
    from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest, TwoSidedTTest, FrequentistConfig
    from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
except Exception as e:  # pragma: no cover - gbstats is optional
    print(f"gbstats not available ({e}); skipping gbstats fixtures", file=sys.stderr)
else:
    import gbstats
    gb = {"version": getattr(gbstats, "__version__", None), "sequential": [], "fixedHorizon": [], "bayesian": []}
    for (nc, mc, sc), (nt, mt, st), alpha, tuning in [((1000, 10.0, 3.0), (1000, 10.3, 3.2), 0.05, 5000), ((50000, 1.0, 2.0), (50000, 1.03, 2.1), 0.05, 10000),
                                                       ((300, 5.0, 1.0), (320, 5.4, 1.2), 0.1, 1000), ((20000, 0.1, None), (20000, 0.108, None), 0.05, 5000)]:
        if sc is None:
            sa, sb = ProportionStatistic(n=nc, sum=round(nc * mc)), ProportionStatistic(n=nt, sum=round(nt * mt))
            arm_c, arm_t, kind = {"n": nc, "sum": round(nc * mc), "sumSquares": round(nc * mc)}, {"n": nt, "sum": round(nt * mt), "sumSquares": round(nt * mt)}, "binary"
        else:
            arm_c, arm_t, kind = moments_from(nc, mc, sc), moments_from(nt, mt, st), "continuous"
            sa = SampleMeanStatistic(n=nc, sum=arm_c["sum"], sum_squares=arm_c["sumSquares"])
            sb = SampleMeanStatistic(n=nt, sum=arm_t["sum"], sum_squares=arm_t["sumSquares"])
        for diff in ("absolute", "relative"):
            seq = SequentialTwoSidedTTest(sa, sb, SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning, difference_type=diff))
            r = seq.compute_result()
            gb["sequential"].append({"metricType": kind, "control": arm_c, "treatment": arm_t, "alpha": alpha, "tuningN": tuning, "difference": diff,
                                     "estimate": r.expected, "ci": r.ci, "pValue": r.p_value})
            fh = TwoSidedTTest(sa, sb, FrequentistConfig(alpha=alpha, difference_type=diff)).compute_result()
            gb["fixedHorizon"].append({"metricType": kind, "control": arm_c, "treatment": arm_t, "alpha": alpha, "difference": diff,
                                       "estimate": fh.expected, "ci": fh.ci, "pValue": fh.p_value})
        b = EffectBayesianABTest(sa, sb, EffectBayesianConfig(alpha=alpha, difference_type="absolute")).compute_result()
        gb["bayesian"].append({"metricType": kind, "control": arm_c, "treatment": arm_t, "alpha": alpha, "chanceToWin": b.chance_to_win,
                               "ci": b.ci, "risk": b.risk, "expected": b.expected})
    write("gbstats.json", gb)

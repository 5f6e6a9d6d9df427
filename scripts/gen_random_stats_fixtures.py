"""Randomised differential fixtures for domain/stats: seeded random inputs (with the edge cases a
hand-picked grid misses: zero variance, n = 1/2, huge n, proportions 0 and 1, extreme tails, unequal
groups, many arms) and the reference values scipy, statsmodels and gbstats give for them.

Writes test/fixtures/stats/random.json; test/domain/stats/random-reference.test.ts compares every case.
A reference that is NaN/inf (undefined) is written as null: the engine must then return its documented
degenerate answer, never NaN. Rerun with `npm run fixtures:stats` (same seed, same file).
"""
import json
import math
import os
import types
import warnings

import numpy as np
from scipy import integrate, special, stats
from statsmodels.stats import multitest, power as smpower, proportion as smprop
import statsmodels.api as sm

from fixture_json import clean

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "stats", "random.json")
rng = np.random.default_rng(20261130)
UNDEFINED_T = types.SimpleNamespace(statistic=float("nan"), pvalue=float("nan"))


def log_uniform(lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def rand_n(lo=1, hi=10**8):
    """A sample size: small ones (1, 2, 3) often, otherwise log-uniform up to 1e8."""
    r = rng.uniform()
    if r < 0.15:
        return int(rng.integers(lo, max(lo, min(hi, 4)) + 1))
    return int(round(log_uniform(max(lo, 1), hi)))


def rand_alpha():
    return float(rng.choice([0.01, 0.05, 0.1, 0.2, rng.uniform(0.001, 0.3)]))


def rand_successes(n):
    r = rng.uniform()
    if r < 0.12:
        return 0
    if r < 0.24:
        return n
    if r < 0.32:
        return int(min(n, rng.integers(0, 3)))
    if r < 0.4:
        return int(max(0, n - rng.integers(0, 3)))
    p = float(rng.choice([log_uniform(1e-5, 0.5), rng.uniform()]))
    return int(rng.binomial(n, p))


out = {"seed": 20261130}

# ---- special functions ---------------------------------------------------------------------------
sp = {"normalCdf": [], "normalQuantile": [], "studentTCdf": [], "studentTQuantile": [], "chiSquareSf": [], "regularizedBeta": [], "logGamma": [], "upperRegularizedGamma": []}
for _ in range(150):
    x = float(rng.choice([rng.normal(0, 3), rng.uniform(-38, 38), rng.normal(0, 0.3)]))
    sp["normalCdf"].append([x, stats.norm.cdf(x), stats.norm.sf(x)])
    p = float(rng.choice([rng.uniform(), log_uniform(1e-300, 0.5), 1 - log_uniform(1e-15, 0.5)]))
    sp["normalQuantile"].append([p, stats.norm.ppf(p)])
    df = float(rng.choice([1, 2, 3, log_uniform(0.5, 1e7), rng.uniform(1, 30)]))
    t = float(rng.choice([rng.normal(0, 3), rng.uniform(-60, 60), rng.normal(0, 0.2)]))
    sp["studentTCdf"].append([t, df, stats.t.cdf(t, df), 2 * stats.t.sf(abs(t), df)])
    q = float(rng.choice([rng.uniform(0.001, 0.999), 1 - log_uniform(1e-10, 0.1), log_uniform(1e-10, 0.1)]))
    sp["studentTQuantile"].append([q, df, stats.t.ppf(q, df)])
    k = float(rng.choice([1, 2, 3, rng.integers(1, 200), log_uniform(0.5, 1e5)]))
    chi = float(rng.choice([log_uniform(1e-6, 2000), rng.uniform(0, 3 * k + 10)]))
    sp["chiSquareSf"].append([chi, k, stats.chi2.sf(chi, k)])
    a, b = log_uniform(0.05, 1e7), log_uniform(0.05, 1e7)
    xb = float(rng.choice([rng.uniform(), stats.beta.ppf(rng.uniform(), a, b)]))
    sp["regularizedBeta"].append([xb, a, b, special.betainc(a, b, xb)])
    g = log_uniform(1e-6, 1e9)
    sp["logGamma"].append([g, special.gammaln(g)])
    ga = log_uniform(0.01, 1e5)
    gx = float(rng.choice([log_uniform(1e-6, 1e6), ga * rng.uniform(0.5, 1.5)]))
    sp["upperRegularizedGamma"].append([ga, gx, special.gammaincc(ga, gx)])
out["special"] = sp

# ---- two proportions: statsmodels proportions_ztest (pooled) + Wald interval ---------------------
props = []
for _ in range(300):
    nc, nt = rand_n(), rand_n()
    if rng.uniform() < 0.2:
        nt = nc
    xc, xt = rand_successes(nc), rand_successes(nt)
    alpha = rand_alpha()
    z, p = smprop.proportions_ztest([xt, xc], [nt, nc])
    lo, hi = smprop.confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff", alpha=alpha)
    props.append({"control": {"n": nc, "successes": xc}, "treatment": {"n": nt, "successes": xt}, "alpha": alpha,
                  "estimate": xt / nt - xc / nc, "z": z, "pValue": p, "ci": [lo, hi], "cohensH": smprop.proportion_effectsize(xt / nt, xc / nc)})
out["proportions"] = props

# ---- Welch t from summary statistics (scipy ttest_ind_from_stats) --------------------------------
means = []
for _ in range(300):
    arms = []
    for _arm in range(2):
        n = rand_n(1, 10**7)
        mean = float(rng.choice([0.0, rng.normal(0, 10), log_uniform(1e-3, 1e6) * rng.choice([-1, 1])]))
        sd = float(rng.choice([0.0, log_uniform(1e-3, 1e3), abs(mean) * rng.uniform(0.01, 3) + 1e-9]))
        arms.append((n, mean, sd))
    (nc, mc, sc), (nt, mt, st) = arms
    alpha = rand_alpha()
    res = stats.ttest_ind_from_stats(mt, st, nt, mc, sc, nc, equal_var=False)
    if nc < 2 or nt < 2 or (sc == 0 and st == 0):
        # Undefined: no sample variance at n = 1 (scipy's ttest_ind gives NaN on raw data); two constant
        # arms have no sampling error to test against (scipy returns t = ±inf). The engine must answer
        # p = 1 with a reason.
        res = UNDEFINED_T
    a, b = (sc**2 / nc if nc > 1 else float("nan")), (st**2 / nt if nt > 1 else float("nan"))
    df = (a + b) ** 2 / (a**2 / (nc - 1) + b**2 / (nt - 1)) if nc > 1 and nt > 1 and a + b > 0 else float("nan")
    q = stats.t.ppf(1 - alpha / 2, df) if math.isfinite(df) else float("nan")
    se = math.sqrt(a + b) if math.isfinite(a + b) else float("nan")
    # Exact moments: sumSquares = (n−1)s² + n·m² in float64, as an aggregation would hold them.
    means.append({"control": {"n": nc, "sum": nc * mc, "sumSquares": (nc - 1) * sc * sc + nc * mc * mc},
                  "treatment": {"n": nt, "sum": nt * mt, "sumSquares": (nt - 1) * st * st + nt * mt * mt},
                  "sd": [sc, st], "alpha": alpha, "estimate": mt - mc, "t": res.statistic, "df": df, "pValue": res.pvalue,
                  "ci": [mt - mc - q * se, mt - mc + q * se]})
out["means"] = means

# ---- Welch t from raw samples (the moments an aggregation would build) ---------------------------
raw = []
for _ in range(80):
    samples = []
    for _arm in range(2):
        n = int(rng.choice([2, 3, 5, rng.integers(2, 2000)]))
        shift = float(rng.choice([0.0, 1e3, 1e5, -50.0]))
        kind = rng.integers(0, 4)
        if kind == 0:
            y = rng.normal(shift, rng.uniform(0.1, 10), n)
        elif kind == 1:
            y = rng.exponential(rng.uniform(0.1, 100), n) + shift
        elif kind == 2:
            y = rng.poisson(rng.uniform(0.01, 5), n).astype(float)
        else:
            y = np.full(n, shift)
        samples.append(y)
    yc, yt = samples
    alpha = rand_alpha()
    res = stats.ttest_ind(yt, yc, equal_var=False)
    if yt.std() == 0 and yc.std() == 0:
        res = UNDEFINED_T
    raw.append({"control": yc.tolist(), "treatment": yt.tolist(), "alpha": alpha, "estimate": yt.mean() - yc.mean(), "t": res.statistic, "pValue": res.pvalue})
out["meansRaw"] = raw

# ---- chi-square ----------------------------------------------------------------------------------
indep = []
for _ in range(120):
    r, c = int(rng.integers(2, 9)), int(rng.integers(2, 6))
    scale = log_uniform(1, 1e6)
    t = rng.poisson(scale * rng.dirichlet(np.ones(r * c)) * r * c).reshape(r, c)
    if rng.uniform() < 0.2:
        t[rng.integers(0, r), :] = 0
    if rng.uniform() < 0.2:
        t[:, rng.integers(0, c)] = 0
    keep = t[t.sum(axis=1) > 0]
    keep = keep[:, keep.sum(axis=0) > 0] if keep.size else keep
    if keep.shape[0] >= 2 and keep.shape[1] >= 2:
        chi2, p, dof, _ = stats.chi2_contingency(keep, correction=False)
    else:
        chi2, p, dof = None, None, 0
    indep.append({"table": t.tolist(), "statistic": chi2, "df": dof, "pValue": p})
gof = []
for _ in range(120):
    k = int(rng.integers(2, 30))
    w = rng.dirichlet(np.ones(k) * rng.uniform(0.2, 5))
    n = rand_n(1, 10**8)
    obs = rng.multinomial(n, w if rng.uniform() < 0.6 else rng.dirichlet(np.ones(k)))
    exp = w * obs.sum()
    s, p = stats.chisquare(obs, exp)
    gof.append({"observed": obs.tolist(), "expected": exp.tolist(), "statistic": s, "df": k - 1, "pValue": p})
out["chiSquare"] = {"independence": indep, "goodnessOfFit": gof}

# ---- SRM over allocation periods ------------------------------------------------------------------
srm = []
for _ in range(80):
    k = int(rng.integers(2, 12))
    periods = []
    for _p in range(int(rng.integers(1, 6))):
        w = rng.dirichlet(np.ones(k)) if rng.uniform() < 0.7 else np.ones(k) / k
        periods.append({"weights": w.tolist(), "n": int(rand_n(1, 10**7))})
    exp = np.zeros(k)
    for p in periods:
        exp += p["n"] * np.array(p["weights"]) / np.sum(p["weights"])
    skew = rng.dirichlet(np.ones(k)) if rng.uniform() < 0.3 else exp / exp.sum()
    observed = rng.multinomial(int(exp.sum()), skew)
    e = exp * observed.sum() / exp.sum()
    s, pv = stats.chisquare(observed, e)
    srm.append({"periods": periods, "observed": observed.tolist(), "expected": e.tolist(), "statistic": s, "pValue": pv})
out["srm"] = srm

# ---- multiple testing ----------------------------------------------------------------------------
mt = []
for _ in range(100):
    m = int(rng.choice([1, 2, rng.integers(3, 60)]))
    ps = np.where(rng.uniform(size=m) < 0.5, rng.uniform(size=m), np.array([log_uniform(1e-300, 0.05) for _ in range(m)]))
    if rng.uniform() < 0.3:
        ps[: m // 2] = ps[0]  # ties
    if rng.uniform() < 0.2:
        ps[0] = 0.0
    if rng.uniform() < 0.2:
        ps[-1] = 1.0
    ps = ps.tolist()
    mt.append({"pValues": ps, "holm": multitest.multipletests(ps, method="holm")[1].tolist(), "bh": multitest.multipletests(ps, method="fdr_bh")[1].tolist()})
out["multipleTesting"] = mt

# ---- power, sample size, MDE ---------------------------------------------------------------------
pw = []
for _ in range(120):
    pc = float(rng.choice([log_uniform(1e-4, 0.5), rng.uniform(0.01, 0.99)]))
    pt = float(min(0.9999, max(1e-5, pc * (1 + rng.choice([-1, 1]) * log_uniform(0.005, 0.9)))))
    n = rand_n(2, 10**7)
    alpha = rand_alpha()
    ratio = float(rng.choice([1, 1, 0.5, 2, log_uniform(0.1, 10)]))
    power = float(rng.choice([0.8, 0.9, rng.uniform(0.5, 0.99)]))
    p_ = smprop.power_proportions_2indep(pt - pc, pc, n, ratio=ratio, alpha=alpha, return_results=False)
    ss = smprop.samplesize_proportions_2indep_onetail(pt - pc, pc, power, ratio=ratio, alpha=alpha)
    delta, sd = rng.choice([-1, 1]) * log_uniform(1e-3, 10), log_uniform(1e-2, 100)
    es = delta / sd
    pm = smpower.NormalIndPower().power(es, n, alpha, ratio=ratio, alternative="two-sided")
    ssm = smpower.normal_sample_size_one_tail(abs(delta) / sd, power, alpha / 2, std_null=math.sqrt(1 + 1 / ratio))
    mde = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * sd * math.sqrt((1 + 1 / ratio) / n)
    pw.append({"pControl": pc, "pTreatment": pt, "nTreatment": n, "alpha": alpha, "ratio": ratio, "power": power,
               "powerProportions": p_, "sampleSizeProportions": ss, "delta": delta, "sd": sd, "powerMeans": pm, "sampleSizeMeans": ssm, "mdeMeans": mde})
out["power"] = pw

# ---- Bayesian: Beta credible intervals, Beta comparisons, P(best) --------------------------------
beta_ci = []
for _ in range(100):
    a = 1 + rand_successes(rand_n(0, 10**7))
    b = 1 + int(rand_n(0, 10**7))
    level = rand_alpha()
    beta_ci.append({"alpha": a, "beta": b, "level": level, "ci": [stats.beta.ppf(level / 2, a, b), stats.beta.ppf(1 - level / 2, a, b)]})


def beta_sd(a, b):
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def miller_p_greater(a1, b1, a2, b2):
    """P(B > A), A ~ Beta(a1, b1), B ~ Beta(a2, b2), integer a2 (Evan Miller's sum, log space)."""
    i = np.arange(int(a2), dtype=float)
    logs = special.betaln(a1 + i, b1 + b2) - np.log(b2 + i) - special.betaln(1 + i, b2) - special.betaln(a1, b1)
    return float(np.exp(special.logsumexp(logs)))


beta_cmp = []
for _ in range(80):
    nc = rand_n(1, 10**6)
    nt = rand_n(1, 10**6)
    xc, xt = rand_successes(nc), rand_successes(nt)
    c, t = (1 + xc, 1 + nc - xc), (1 + xt, 1 + nt - xt)
    p_t = miller_p_greater(*c, *t)  # a sum of α_T ≤ 1e6 + 1 positive terms: no cancellation
    beta_cmp.append({"control": {"n": nc, "successes": xc}, "treatment": {"n": nt, "successes": xt}, "pTreatmentHigher": p_t})


def p_best_quad(params, kind, direction):
    out_ = []
    if kind == "beta":
        dists = [stats.beta(a, b) for a, b in params]
        pts = sorted({min(1.0, max(0.0, a / (a + b) + k * beta_sd(a, b))) for a, b in params for k in (-40, -12, -6, -3, -1, 0, 1, 3, 6, 12, 40)} - {0.0, 1.0})
        lo, hi = 0.0, 1.0
    else:
        dists = [stats.norm(m, math.sqrt(v)) for m, v in params]
        pts = sorted({m + k * math.sqrt(v) for m, v in params for k in (-12, -6, -3, -1, 0, 1, 3, 6, 12)})
        lo, hi = pts[0] - 30 * max(math.sqrt(v) for _, v in params), pts[-1] + 30 * max(math.sqrt(v) for _, v in params)
    for j, dj in enumerate(dists):
        tail = (lambda d, x: d.cdf(x)) if direction == "increase" else (lambda d, x: d.sf(x))
        f = lambda x: dj.pdf(x) * np.prod([tail(d, x) for i, d in enumerate(dists) if i != j])
        out_.append(integrate.quad(f, lo, hi, points=pts[:100], epsabs=1e-13, epsrel=1e-11, limit=2000)[0])
    return out_


p_best = []
for _ in range(40):
    k = int(rng.integers(2, 9))
    direction = str(rng.choice(["increase", "decrease"]))
    if rng.uniform() < 0.5:
        base = log_uniform(1e-3, 0.6)
        arms = []
        for _i in range(k):
            n = rand_n(5, 10**5)
            arms.append((n, int(rng.binomial(n, min(0.99, base * rng.uniform(0.8, 1.25))))))
        params = [(1 + x, 1 + n - x) for n, x in arms]
        posts = [{"kind": "beta", "alpha": a, "beta": b} for a, b in params]
        p_best.append({"posteriors": posts, "direction": direction, "probabilityBest": p_best_quad(params, "beta", direction)})
    else:
        mu = rng.normal(0, 10)
        params = [(float(mu + rng.normal(0, 1)), log_uniform(1e-3, 4)) for _i in range(k)]
        posts = [{"kind": "normal", "mean": m, "variance": v} for m, v in params]
        p_best.append({"posteriors": posts, "direction": direction, "probabilityBest": p_best_quad(params, "normal", direction)})
out["bayesian"] = {"betaCredibleIntervals": beta_ci, "betaComparisons": beta_cmp, "probabilityBest": p_best}

# ---- gbstats: fixed-horizon, sequential CS and Bayesian effect posterior --------------------------
try:
    import gbstats
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
    from gbstats.frequentist.tests import FrequentistConfig, SequentialConfig, SequentialTwoSidedTTest, TwoSidedTTest
    from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
except Exception as e:  # pragma: no cover
    print(f"gbstats not available ({e}); random gbstats cases skipped")
else:
    gb = {"version": getattr(gbstats, "__version__", None), "cases": []}
    for _ in range(150):
        binary = rng.uniform() < 0.4
        alpha = rand_alpha()
        tuning = int(rng.choice([5000, 1000, 100000, rand_n(10, 10**6)]))
        if binary:
            nc, nt = rand_n(2, 10**7), rand_n(2, 10**7)
            xc, xt = rand_successes(nc), rand_successes(nt)
            arm_c, arm_t = {"n": nc, "sum": xc, "sumSquares": xc}, {"n": nt, "sum": xt, "sumSquares": xt}
            sa, sb = ProportionStatistic(n=nc, sum=xc), ProportionStatistic(n=nt, sum=xt)
        else:
            arms = []
            for _a in range(2):
                n = rand_n(2, 10**7)
                m = float(rng.choice([rng.normal(10, 5), log_uniform(1e-2, 1e4)]))
                s = float(rng.choice([log_uniform(1e-2, 1e3), abs(m) * rng.uniform(0.1, 3)]))
                arms.append({"n": n, "sum": n * m, "sumSquares": (n - 1) * s * s + n * m * m})
            arm_c, arm_t = arms
            sa = SampleMeanStatistic(n=arm_c["n"], sum=arm_c["sum"], sum_squares=arm_c["sumSquares"])
            sb = SampleMeanStatistic(n=arm_t["n"], sum=arm_t["sum"], sum_squares=arm_t["sumSquares"])
        case = {"metricType": "binary" if binary else "continuous", "control": arm_c, "treatment": arm_t, "alpha": alpha, "tuningN": tuning}
        for diff in ("absolute", "relative"):
            fh = TwoSidedTTest(sa, sb, FrequentistConfig(alpha=alpha, difference_type=diff)).compute_result()
            sq = SequentialTwoSidedTTest(sa, sb, SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning, difference_type=diff)).compute_result()
            case[diff] = {"fixed": {"estimate": fh.expected, "ci": fh.ci, "pValue": fh.p_value, "error": fh.error_message},
                          "sequential": {"estimate": sq.expected, "ci": sq.ci, "pValue": sq.p_value, "error": sq.error_message}}
        bz = EffectBayesianABTest(sa, sb, EffectBayesianConfig(alpha=alpha, difference_type="absolute")).compute_result()
        case["bayesian"] = {"chanceToWin": bz.chance_to_win, "ci": bz.ci, "risk": bz.risk, "expected": bz.expected, "error": bz.error_message}
        gb["cases"].append(case)
    out["gbstats"] = gb

# ---- ratio metrics (delta method, linearisation on raw data) --------------------------------------
ratio = []
for _ in range(60):
    arms, refs = [], []
    for _a in range(2):
        n = int(rng.choice([2, 3, rng.integers(4, 5000)]))
        x = (rng.poisson(rng.uniform(0.5, 5), n) + 1).astype(float)
        y = x * rng.gamma(rng.uniform(0.5, 3), rng.uniform(0.1, 50), n)
        if rng.uniform() < 0.1:
            y = 3.0 * x  # zero residual variance
        arms.append({"n": n, "sum": y.sum(), "sumSquares": (y**2).sum(), "denSum": x.sum(), "denSumSquares": (x**2).sum(), "crossSum": (x * y).sum()})
        r = y.sum() / x.sum()
        refs.append((r, (y - r * x).var(ddof=1) / (n * x.mean() ** 2)))
    (rc, vc), (rt, vt) = refs
    se = math.sqrt(vc + vt)
    alpha = rand_alpha()
    z = (rt - rc) / se if se > 0 else float("nan")
    q = stats.norm.ppf(1 - alpha / 2)
    ratio.append({"control": arms[0], "treatment": arms[1], "alpha": alpha, "estimate": rt - rc, "standardError": se,
                  "pValue": 2 * stats.norm.sf(abs(z)), "ci": [rt - rc - q * se, rt - rc + q * se]})
out["ratio"] = ratio

# ---- (CUPED was removed: nothing used it.) Its draws are kept, in the same order, so the sections
# after it still reproduce the committed fixture.
for _ in range(60):
    rng.uniform(-0.99, 0.99)
    for t in (0, 1):
        n = int(rng.choice([3, 5, rng.integers(10, 5000)]))
        rng.normal(rng.uniform(-5, 100), rng.uniform(0.1, 20), n)
        rng.normal(size=n)
        rng.uniform(0.1, 5)

# ---- group sequential: crossing probabilities by multivariate-normal integration -----------------
gs = []
for _ in range(12):
    k = int(rng.integers(2, 5))
    t = np.sort(rng.uniform(0.1, 1, k))
    t[-1] = 1.0
    b = rng.uniform(1.8, 4.5, k)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    drift = float(rng.choice([0.0, rng.uniform(0, 4)]))
    mean = drift * np.sqrt(t)
    # P(first crossing at look j) = P(|Z_i| < b_i, i < j) − P(|Z_i| < b_i, i ≤ j), Genz's algorithm
    # at a tight tolerance (the default abseps 1e-5 is coarser than the tails being checked).
    stay = [1.0, stats.norm.cdf(b[0], mean[0]) - stats.norm.cdf(-b[0], mean[0])]
    for j in range(2, k + 1):
        mvn = stats.multivariate_normal(mean[:j], cov[:j, :j], maxpts=10**7, abseps=1e-11, releps=1e-9)
        stay.append(mvn.cdf(b[:j], lower_limit=-b[:j]))
    gs.append({"boundaries": b.tolist(), "informationFractions": t.tolist(), "drift": drift, "crossing": [stay[j] - stay[j + 1] for j in range(k)]})
out["groupSequential"] = gs

with open(OUT, "w") as f:
    json.dump(clean(out), f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")

"""Randomised reference values for the statistics the decision and allocation steps use that
gen_random_stats_fixtures.py does not reach: P(best) when some arms' posteriors are point masses
(Thompson weights with a zero-variance arm), the segment × period stratified difference (every
decision's input) against a statsmodels regression, and the minimum detectable lift of two
proportions on random designs.

Writes test/fixtures/stats/random-decision.json; test/domain/stats/random-decision.test.ts compares
every case. Rerun with `npm run fixtures:stats` (same seed, same file).
"""
import json
import math
import os
import warnings

import numpy as np
import statsmodels.api as sm
from scipy import integrate, optimize, stats
from statsmodels.stats import proportion as smprop

from fixture_json import clean

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "stats", "random-decision.json")
rng = np.random.default_rng(20261201)


def log_uniform(lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


out = {"seed": 20261201}

# ---- P(best) with point masses ---------------------------------------------------------------------
# Normal posteriors, some with variance 0 (an arm whose units all had one outcome). For independent
# arms, P(j best) = ∫ f_j Π_{i≠j} F_i over the continuous arms beyond the best point mass M, and the
# arms at M share Π F_i(M). scipy quadrature of that definition, and a 2e6-draw Monte Carlo of the
# arms themselves (what a Thompson sampler does) as an independent check of the definition.
MC = 2_000_000
p_best = []
for _ in range(40):
    k = int(rng.integers(2, 7))
    direction = str(rng.choice(["increase", "decrease"]))
    mu = float(rng.normal(0, 5))
    posts = []
    for _i in range(k):
        m = float(mu + rng.normal(0, 1))
        v = 0.0 if rng.uniform() < 0.4 else log_uniform(1e-3, 4)
        posts.append((m, v))
    if all(v == 0 for _, v in posts):
        posts[0] = (posts[0][0], 1.0)
    if rng.uniform() < 0.2:  # a tie between point masses
        j = next((i for i, (_, v) in enumerate(posts) if v == 0), None)
        if j is not None:
            posts.append((posts[j][0], 0.0))
    sign = 1.0 if direction == "increase" else -1.0
    live = [(i, m, math.sqrt(v)) for i, (m, v) in enumerate(posts) if v > 0]
    points = [(i, m) for i, (m, v) in enumerate(posts) if v == 0]
    bar = max((sign * m for _, m in points), default=-math.inf)
    worse = (lambda x, m, s: stats.norm.cdf(x, m, s)) if sign > 0 else (lambda x, m, s: stats.norm.sf(x, m, s))
    quad = [0.0] * len(posts)
    for i, m, s in live:
        others = [(m2, s2) for i2, m2, s2 in live if i2 != i]
        f = lambda x, m=m, s=s, others=others: stats.norm.pdf(x, m, s) * np.prod([worse(x, m2, s2) for m2, s2 in others])
        lo_all = min(mm - 40 * ss for _, mm, ss in live)
        hi_all = max(mm + 40 * ss for _, mm, ss in live)
        lo, hi = (max(lo_all, bar), hi_all) if sign > 0 else (lo_all, min(hi_all, -bar))
        pts = sorted({mm + kk * ss for _, mm, ss in live for kk in (-6, -3, -1, 0, 1, 3, 6)} | ({sign * bar} if math.isfinite(bar) else set()))
        pts = [p for p in pts if lo < p < hi]
        quad[i] = integrate.quad(f, lo, hi, points=pts or None, epsabs=1e-14, epsrel=1e-11, limit=2000)[0] if hi > lo else 0.0
    at_bar = [i for i, m in points if sign * m == bar]
    share = float(np.prod([worse(sign * bar, m, s) for _, m, s in live])) if at_bar else 0.0
    for i in at_bar:
        quad[i] = share / len(at_bar)
    draws = np.column_stack([rng.normal(m, math.sqrt(v), MC) if v > 0 else np.full(MC, m) for m, v in posts]) * sign
    best = draws.max(axis=1, keepdims=True)
    winners = draws == best
    mc = (winners / winners.sum(axis=1, keepdims=True)).mean(axis=0)
    p_best.append({"posteriors": [{"kind": "normal", "mean": m, "variance": v} for m, v in posts], "direction": direction,
                   "probabilityBest": quad, "monteCarlo": mc.tolist(), "draws": MC})
out["probabilityBestPointMass"] = p_best

# ---- stratified difference (segment × period strata) ------------------------------------------------
# Reference: OLS of the raw outcomes on one indicator per (stratum, arm) cell, with HC0 (binary:
# p(1−p)/n per cell) or HC2 (continuous: s²/n per cell) covariance; the estimate is the contrast
# Σ w_s (m_t,s − m_c,s) with w_s ∝ n_c,s·n_t,s/(n_c,s + n_t,s) over strata with both arms (n ≥ 1
# binary, n ≥ 2 otherwise), and the relative lift its delta-method ratio to the weighted control mean.
strat = []
for _ in range(120):
    binary = bool(rng.uniform() < 0.5)
    n_strata = int(rng.choice([1, 1, 2, 3, 6, 12]))
    cells, ys, arms, keys = [], [], [], []
    for s in range(n_strata):
        for arm, variant in enumerate(["c", "t"]):
            n = int(rng.choice([1, 2, 3, rng.integers(2, 50), rng.integers(50, 3000)]))
            if binary:
                y = rng.binomial(1, float(rng.choice([0.0, 1.0, rng.uniform(), 0.01])), n).astype(float)
            else:
                kind = int(rng.integers(0, 4))
                if kind < 2:
                    y = rng.normal(rng.normal(0, 100), rng.uniform(0.01, 50), n)
                elif kind == 2:
                    y = np.full(n, 3.0)
                else:
                    y = rng.exponential(5, n) - 2
            cells.append({"metric": "m", "variant": variant, "segment": s % 2, "period": s // 2,
                          "moments": {"n": n, "sum": float(y.sum()), "sumSquares": float((y * y).sum())}})
            ys.append(y)
            arms.append(np.full(n, arm))
            keys.append(np.full(n, s))
    alpha = float(rng.choice([0.05, 0.1, 0.01]))
    y, t, sk = np.concatenate(ys), np.concatenate(arms), np.concatenate(keys)
    min_n = 1 if binary else 2
    keep = [s for s in range(n_strata) if (t[sk == s] == 0).sum() >= min_n and (t[sk == s] == 1).sum() >= min_n]
    ref = None
    if keep:
        mask = np.isin(sk, keep)
        yy, tt, kk = y[mask], t[mask], sk[mask]
        X = np.column_stack([((kk == s) & (tt == a)).astype(float) for s in keep for a in (0, 1)])
        fit = sm.OLS(yy, X).fit(cov_type="HC0" if binary else "HC2")
        cov = fit.cov_params()
        w = np.array([(tt[kk == s] == 0).sum() * (tt[kk == s] == 1).sum() / (kk == s).sum() for s in keep], dtype=float)
        w /= w.sum()
        L = np.zeros(2 * len(keep))
        Lc = np.zeros(2 * len(keep))
        L[0::2], L[1::2], Lc[0::2] = -w, w, w
        est, mc = float(L @ fit.params), float(Lc @ fit.params)
        var, vc, cv = float(L @ cov @ L), float(Lc @ cov @ Lc), float(L @ cov @ Lc)
        se = math.sqrt(max(var, 0.0))
        if se < 1e-10 * max(1.0, float(np.abs(fit.params).max())):
            se = 0.0  # constant cells: OLS leaves rounding noise where the variance is 0
        q = stats.norm.ppf(1 - alpha / 2)
        rel = None
        if se > 0 and mc != 0 and mc + est != 0:
            r = est / mc
            rv = var / mc**2 + est**2 * vc / mc**4 - 2 * est * cv / mc**3
            if rv > 0:
                rel = {"estimate": r, "ci": [r - q * math.sqrt(rv), r + q * math.sqrt(rv)]}
        ref = {"estimate": est, "standardError": se, "controlMean": mc,
               "pValue": 2 * stats.norm.sf(abs(est / se)) if se > 0 else None,
               "ci": [est - q * se, est + q * se] if se > 0 else None, "relative": rel}
    strat.append({"metricType": "binary" if binary else "continuous", "alpha": alpha, "cells": cells, "reference": ref})
out["stratified"] = strat

# ---- minimum detectable lift of two proportions ---------------------------------------------------
mde = []
for _ in range(150):
    pc = float(rng.choice([log_uniform(1e-5, 0.5), rng.uniform(0.01, 0.99), 0.999]))
    n = int(round(log_uniform(2, 1e8)))
    alpha = float(rng.choice([0.05, 0.01, 0.1, rng.uniform(0.001, 0.3)]))
    power = float(rng.choice([0.8, 0.9, rng.uniform(0.5, 0.99)]))
    ratio = float(rng.choice([1, 1, 0.5, 2, log_uniform(0.1, 10)]))
    f = lambda d: smprop.samplesize_proportions_2indep_onetail(d, pc, power, ratio=ratio, alpha=alpha) - n
    hi = 1 - pc - 1e-12
    value = None if f(hi) > 0 else optimize.brentq(f, 1e-15, hi, xtol=1e-16, rtol=1e-13)
    mde.append({"pControl": pc, "nTreatment": n, "alpha": alpha, "power": power, "ratio": ratio, "mde": value})
out["mdeProportions"] = mde

# ---- ratio metrics, always-valid: gbstats SequentialTwoSidedTTest on RatioStatistic ----------------
# Raw units (denominator ≥ 1 per unit, numerator ∝ denominator); the same delta-method variance and
# confidence sequence as the decisions use, absolute and relative.
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest
from gbstats.models.statistics import RatioStatistic, SampleMeanStatistic

ratio_seq = []
for _ in range(80):
    arms, stats_ = [], []
    for _a in range(2):
        n = int(rng.choice([2, 3, rng.integers(4, 200), rng.integers(200, 20000)]))
        x = (rng.poisson(rng.uniform(0.5, 5), n) + 1).astype(float)
        y = x * rng.gamma(rng.uniform(0.5, 3), rng.uniform(0.1, 50), n) * float(rng.choice([1.0, -1.0, 1.0]))
        m = {"n": n, "sum": float(y.sum()), "sumSquares": float((y * y).sum()), "denSum": float(x.sum()),
             "denSumSquares": float((x * x).sum()), "crossSum": float((x * y).sum())}
        arms.append(m)
        stats_.append(RatioStatistic(n=n, m_statistic=SampleMeanStatistic(n=n, sum=m["sum"], sum_squares=m["sumSquares"]),
                                     d_statistic=SampleMeanStatistic(n=n, sum=m["denSum"], sum_squares=m["denSumSquares"]),
                                     m_d_sum_of_products=m["crossSum"]))
    alpha = float(rng.choice([0.05, 0.1, 0.01]))
    tuning = int(rng.choice([5000, 1000, 100000]))
    case = {"control": arms[0], "treatment": arms[1], "alpha": alpha, "tuningN": tuning}
    for diff in ("absolute", "relative"):
        r = SequentialTwoSidedTTest(stats_[0], stats_[1], SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning, difference_type=diff)).compute_result()
        case[diff] = {"estimate": r.expected, "ci": r.ci, "pValue": r.p_value, "error": r.error_message}
    ratio_seq.append(case)
out["ratioSequential"] = ratio_seq

# ---- `expflow analyze --method bayesian`: gbstats EffectBayesianABTest, absolute and relative -------
# Flat prior; continuous metrics from summary statistics (small and unequal n included, where a t
# quantile and the posterior's normal quantile differ), binary from counts.
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.models.statistics import ProportionStatistic

bayes = []
for _ in range(80):
    binary = bool(rng.uniform() < 0.3)
    arms, stats_ = [], []
    for _a in range(2):
        n = int(rng.choice([3, 5, 20, rng.integers(2, 1000), rng.integers(1000, 10**6)]))
        if binary:
            n = max(n, 200)  # gbstats declines tiny binary arms
            x = int(rng.binomial(n, rng.uniform(0.02, 0.6)))
            arms.append({"n": n, "sum": x})
            stats_.append(ProportionStatistic(n=n, sum=x))
        else:
            m = float(rng.choice([rng.normal(10, 3), -log_uniform(0.1, 100), log_uniform(1e-2, 1e4)]))
            sd = float(rng.choice([log_uniform(1e-2, 1e2), abs(m) * rng.uniform(0.1, 3)]))
            arms.append({"n": n, "sum": n * m, "sumSquares": (n - 1) * sd * sd + n * m * m})
            stats_.append(SampleMeanStatistic(n=n, sum=arms[-1]["sum"], sum_squares=arms[-1]["sumSquares"]))
    alpha = float(rng.choice([0.05, 0.1, 0.01]))
    direction = str(rng.choice(["increase", "decrease"]))
    case = {"metricType": "binary" if binary else "continuous", "control": arms[0], "treatment": arms[1], "alpha": alpha, "direction": direction}
    for diff in ("absolute", "relative"):
        r = EffectBayesianABTest(stats_[0], stats_[1], EffectBayesianConfig(alpha=alpha, difference_type=diff)).compute_result()
        case[diff] = {"chanceToWin": r.chance_to_win, "ci": r.ci, "expected": r.expected, "risk": r.risk, "error": r.error_message}
    bayes.append(case)
out["bayesianAnalyze"] = bayes

# ---- Beta posteriors of huge arms with few (or all) conversions --------------------------------------
# Beta(1 + x, 1 + n − x) with n up to 1e10 and x or n − x in 0..5: one shape parameter small, the
# other huge, where ln B(a, b) from three log-gammas cancels away its digits. scipy's betainc and
# beta.ppf (Boost) as the reference.
from scipy import special as sp_special

beta_extreme = []
for _ in range(120):
    n = int(round(log_uniform(1e6, 1e10)))
    x = int(rng.choice([0, 1, 2, rng.integers(0, 6)]))
    a, b = 1 + x, 1 + n - x
    if rng.uniform() < 0.3:
        a, b = b, a  # all but a few converted
    level = float(rng.choice([0.05, 0.1, 0.01, rng.uniform(0.001, 0.3)]))
    m = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    pt = float(min(1 - 1e-16, max(1e-300, m + rng.normal(0, 2) * sd)))
    beta_extreme.append({"alpha": a, "beta": b, "level": level, "x": pt, "cdf": sp_special.betainc(a, b, pt), "sf": sp_special.betaincc(a, b, pt),
                         "ci": [stats.beta.ppf(level / 2, a, b), stats.beta.ppf(1 - level / 2, a, b)]})
out["betaExtreme"] = beta_extreme

# ---- group-sequential spending boundaries -----------------------------------------------------------
# Lan–DeMets boundaries solved with scipy: b_k such that P(first crossing at look k) under H0, by
# multivariate-normal integration (Genz), equals α(t_k) − α(t_{k−1}); O'Brien–Fleming type spends
# 4·(1 − Φ(z_{1−α/4}/√t)) (gsDesign's two-sided convention), Pocock type α·log(1 + (e − 1)t).
def alpha_spent(kind, t, a):
    if t >= 1:
        return a
    if kind == "pocock":
        return a * math.log(1 + (math.e - 1) * t)
    return 4 * stats.norm.sf(stats.norm.ppf(1 - a / 4) / math.sqrt(t))


gs_design = []
for _ in range(10):
    k = int(rng.integers(1, 5))
    t = np.sort(rng.uniform(0.1, 1, k))
    if rng.uniform() < 0.6:
        t[-1] = 1.0
    a = float(rng.choice([0.05, 0.01, 0.1, 0.025]))
    kind = str(rng.choice(["obrien-fleming", "pocock"]))
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    bounds, stay_prev, spent_prev = [], 1.0, 0.0

    def stay(bs):
        j = len(bs)
        if j == 1:
            return stats.norm.cdf(bs[0]) - stats.norm.cdf(-bs[0])
        return stats.multivariate_normal(np.zeros(j), cov[:j, :j], maxpts=10**7, abseps=1e-11, releps=1e-9).cdf(np.array(bs), lower_limit=-np.array(bs))

    for j in range(k):
        target = alpha_spent(kind, float(t[j]), a) - spent_prev
        b = optimize.brentq(lambda x: (stay_prev - stay(bounds + [x])) - target, 0.5, 12, xtol=1e-10)
        bounds.append(b)
        stay_prev = stay(bounds)
        spent_prev = 1 - stay_prev
    gs_design.append({"informationFractions": t.tolist(), "alpha": a, "spending": kind, "boundaries": bounds})
out["spendingBoundaries"] = gs_design

# ---- prediction scoring: Spearman correlation, type-7 quantiles, average ranks -----------------------
from scipy.stats import rankdata, spearmanr

scoring = []
for _ in range(60):
    n = int(rng.choice([2, 3, 5, rng.integers(2, 300)]))
    xa = rng.integers(0, 5, n).astype(float) if rng.uniform() < 0.4 else rng.normal(0, 1, n)
    xb = xa * rng.uniform(-1, 1) + rng.normal(0, 1, n) if rng.uniform() < 0.7 else rng.integers(0, 3, n).astype(float)
    q = float(rng.uniform())
    rho = spearmanr(xa, xb).statistic
    scoring.append({"a": xa.tolist(), "b": xb.tolist(), "q": q, "spearman": None if np.isnan(rho) else float(rho),
                    "quantile": float(np.quantile(xa, q)), "ranks": rankdata(xa).tolist()})
out["scoring"] = scoring

with open(OUT, "w") as fh:
    json.dump(clean(out), fh, separators=(",", ":"))
    fh.write("\n")
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")

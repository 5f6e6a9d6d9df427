"""Off-policy evaluation fixtures from Open Bandit Pipeline (obp 0.5.7).

Synthetic logged bandit data with a contextual logging policy (obp's linear behaviour policy) and a
different target policy (epsilon-greedy on the true expected reward), plus obp's IPS, SNIPS and DR
estimates on the same data. DR is given the same reward-model predictions that are written to the
fixture, so the TypeScript test compares the estimator itself. The ground truth is obp's
`calc_ground_truth_policy_value` on the same contexts and, for the population value, a large
independent sample.

obp 0.5.7 declares Python < 3.11 and hard-requires torch, which only its neural policy learners
use; the OPE estimators and the synthetic generator do not. scripts/gen-ope-fixtures.sh installs it
with --ignore-requires-python --no-deps plus its real dependencies, and the stub below stands in for
torch (and for pingouin/pyieoe, used only by obp's plotting/interpretation helpers) at import time.
"""
import json
import sys
import types
from pathlib import Path


class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {}) if name[0].isupper() else _Stub(f"{self.__name__}.{name}")


for _m in ["torch", "torch.nn", "torch.nn.functional", "torch.optim", "pingouin", "pyieoe"]:
    sys.modules.setdefault(_m, _Stub(_m))

import numpy as np  # noqa: E402
from obp.dataset import (  # noqa: E402
    SyntheticBanditDataset,
    linear_behavior_policy,
    linear_reward_function,
    logistic_reward_function,
)
from obp.ope import DoublyRobust, InverseProbabilityWeighting, RegressionModel, SelfNormalizedInverseProbabilityWeighting  # noqa: E402
from obp.policy import Random  # noqa: E402,F401  (import check: the policy package loads with the stub)
from obp.utils import sample_action_fast  # noqa: E402,F401
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "ope"


def eps_greedy(expected_reward: np.ndarray, eps: float) -> np.ndarray:
    """Target policy: the best arm under the true expected reward with prob 1-eps, uniform otherwise."""
    n, k = expected_reward.shape
    dist = np.full((n, k), eps / k)
    dist[np.arange(n), expected_reward.argmax(axis=1)] += 1 - eps
    return dist


def case(name: str, seed: int, n: int, k: int, d: int, reward_type: str, eps: float, clip_small: bool = False) -> dict:
    reward_fn = logistic_reward_function if reward_type == "binary" else linear_reward_function
    ds = SyntheticBanditDataset(
        n_actions=k,
        dim_context=d,
        reward_type=reward_type,
        reward_function=reward_fn,
        behavior_policy_function=linear_behavior_policy,
        beta=2.0 if clip_small else 1.0,
        random_state=seed,
    )
    fb = ds.obtain_batch_bandit_feedback(n_rounds=n)
    target = eps_greedy(fb["expected_reward"], eps)
    action_dist = target[:, :, None]
    base = LogisticRegression(max_iter=1000) if reward_type == "binary" else LinearRegression()
    model = RegressionModel(n_actions=k, len_list=1, base_model=base, fitting_method="normal")
    estimated = model.fit_predict(
        context=fb["context"], action=fb["action"], reward=fb["reward"], n_folds=2, random_state=seed
    )
    common = dict(reward=fb["reward"], action=fb["action"], action_dist=action_dist)
    ips = InverseProbabilityWeighting().estimate_policy_value(pscore=fb["pscore"], **common)
    snips = SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(pscore=fb["pscore"], **common)
    dr = DoublyRobust().estimate_policy_value(pscore=fb["pscore"], estimated_rewards_by_reg_model=estimated, **common)
    # Population value of the target: a large independent draw of contexts from the same generator.
    big = ds.obtain_batch_bandit_feedback(n_rounds=200_000)
    big_target = eps_greedy(big["expected_reward"], eps)
    return {
        "name": name,
        "seed": seed,
        "nActions": k,
        "rewardType": reward_type,
        "context": np.round(fb["context"], 12).tolist(),
        "action": fb["action"].tolist(),
        "reward": fb["reward"].astype(float).tolist(),
        "pscore": fb["pscore"].tolist(),
        "loggingDist": fb["pi_b"][:, :, 0].tolist(),
        "targetDist": target.tolist(),
        "estimatedRewards": estimated[:, :, 0].tolist(),
        "obp": {"ips": float(ips), "snips": float(snips), "dr": float(dr)},
        "truthOnSample": float(ds.calc_ground_truth_policy_value(expected_reward=fb["expected_reward"], action_dist=action_dist)),
        "truthPopulation": float((big["expected_reward"] * big_target).sum(axis=1).mean()),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cases = [
        case("binary-k3", seed=11, n=800, k=3, d=3, reward_type="binary", eps=0.2),
        case("continuous-k4", seed=23, n=600, k=4, d=4, reward_type="continuous", eps=0.1),
        case("binary-k5-skewed-logging", seed=37, n=1000, k=5, d=3, reward_type="binary", eps=0.0, clip_small=True),
    ]
    (OUT / "obp.json").write_text(json.dumps({"generator": "scripts/gen_ope_fixtures.py", "obp": "0.5.7", "cases": cases}) + "\n")
    for c in cases:
        print(c["name"], c["obp"], "truth", round(c["truthPopulation"], 4))


def random_cases(count: int = 80) -> list:
    """Random logged data straight into obp's estimators: 1..~1000 rounds, 2..12 actions, propensities
    down to 1e-6 and up to 1, binary/continuous/negative rewards, deterministic or stochastic targets
    (some never playing a logged action), arbitrary reward-model predictions."""
    rng = np.random.default_rng(20261130)
    out = []
    for _ in range(count):
        n = int(rng.choice([1, 2, 3, round(np.exp(rng.uniform(np.log(4), np.log(1000))))]))
        k = int(rng.integers(2, 13))
        logging = rng.dirichlet(np.full(k, rng.choice([0.05, 0.5, 5.0])), size=n)
        if rng.uniform() < 0.3:
            logging = np.maximum(logging, 1e-6)
            logging /= logging.sum(axis=1, keepdims=True)
        action = np.array([rng.choice(k, p=row) for row in logging])
        pscore = logging[np.arange(n), action]
        if rng.uniform() < 0.15:
            pscore = np.ones(n)  # deterministic logging (propensity 1)
        kind = rng.integers(0, 3)
        reward = rng.binomial(1, 0.3, n).astype(float) if kind == 0 else rng.normal(rng.uniform(-50, 50), rng.uniform(0.01, 20), n) if kind == 1 else np.zeros(n)
        if rng.uniform() < 0.4:
            target = np.zeros((n, k))
            target[np.arange(n), rng.integers(0, k, n)] = 1.0
        else:
            target = rng.dirichlet(np.full(k, rng.choice([0.1, 1.0, 10.0])), size=n)
        if rng.uniform() < 0.1:  # the target never plays a logged action
            target = np.zeros((n, k))
            target[np.arange(n), (action + 1) % k] = 1.0
        q = rng.normal(reward.mean(), 1 + reward.std(), (n, k))
        # 6 significant digits keep the file small; obp gets the same rounded numbers.
        r6 = np.vectorize(lambda x: float(f"{x:.6g}"))
        pscore, reward, target, q = r6(pscore), r6(reward), r6(target), r6(q)
        target = target / target.sum(axis=1, keepdims=True)  # rows sum to 1 again (obp's DM term divides by it)
        common = dict(reward=reward, action=action, action_dist=target[:, :, None])
        ips = InverseProbabilityWeighting().estimate_policy_value(pscore=pscore, **common)
        with np.errstate(all="ignore"):
            snips = SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(pscore=pscore, **common)
        dr = DoublyRobust().estimate_policy_value(pscore=pscore, estimated_rewards_by_reg_model=q[:, :, None], **common)
        out.append({
            "nActions": k, "action": action.tolist(), "pscore": pscore.tolist(), "reward": reward.tolist(),
            "targetDist": target.tolist(), "estimatedRewards": q.tolist(),
            "obp": {"ips": float(ips), "snips": float(snips) if np.isfinite(snips) else None, "dr": float(dr)},
        })
    return out


if __name__ == "__main__":
    main()
    (OUT / "obp-random.json").write_text(json.dumps({"generator": "scripts/gen_ope_fixtures.py", "obp": "0.5.7", "cases": random_cases()}) + "\n")
    print("wrote obp-random.json")

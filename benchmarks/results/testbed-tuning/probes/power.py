"""Probe: power (stochastic) sampling of the variance priority vs top-k, tuning seeds only."""
import json
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.utils import check_random_state


def power_strategy(beta):
    from skepinet.strategies import variance
    def strategy(classifier, X_pool, n_instances=1, *, n_index=100, random_state=None, **kw):
        rng = check_random_state(random_state)
        n = len(X_pool)
        idx, sc = variance(classifier, X_pool, n, n_index=n_index, random_state=rng)
        scores = np.empty(n); scores[idx] = sc
        keys = beta * np.log(np.maximum(scores, 1e-300)) + rng.gumbel(size=n)
        pick = np.argsort(-keys)[:n_instances]
        return pick.astype(np.int64), scores[pick]
    strategy.__name__ = f"power{beta}"
    return strategy

def logit_variance_strategy():
    from skepinet.prediction import JointPredictionMixin  # noqa: F401  (model has predict_proba_joint)
    def strategy(classifier, X_pool, n_instances=1, *, n_index=100, random_state=None, **kw):
        from skepinet.scoring import as_model
        model = as_model(classifier)
        p = np.asarray(model.joint(X_pool, n_index), dtype=np.float64)
        logp = np.log(np.clip(p, 1e-12, None))
        logp -= logp.mean(axis=-1, keepdims=True)      # centred log-probabilities = logits up to a shift
        scores = logp.var(axis=0).sum(axis=-1)
        rng = check_random_state(random_state)
        from skepinet.strategies import select_top
        pick = select_top(scores, n_instances, rng)
        return pick, scores[pick]
    strategy.__name__ = "logit_variance"
    return strategy

def one(cfg):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import (
        LOOP_PARAMS,
        make_agent_estimator,
        make_problem,
        redraw_oracle,
    )
    from skepinet.learner import ActiveLearner
    from skepinet.metrics import evaluate_enn
    from skepinet.strategies import STRATEGIES
    seed, T, proto, nf = cfg["seed"], cfg["T"], cfg["protocol"], cfg["nf"]
    n_pool = 10000 if proto == "pool" else 200
    prob = make_problem(seed, temperature=T, n_pool=n_pool, n_test=5000, noisy_fraction=nf)
    est = make_agent_estimator("epinet", seed, dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    if cfg["strategy"] == "logit_variance":
        strat = logit_variance_strategy()
    else:
        strat = STRATEGIES[cfg["strategy"]] if "beta" not in cfg else power_strategy(cfg["beta"])
    l = ActiveLearner(est, strat, random_state=seed)
    loop = dict(LOOP_PARAMS[proto])
    if proto == "requery":
        loop["candidate_size"] = n_pool
        oracle, classes = redraw_oracle(prob["proba_pool"], seed), [0, 1]
        labels = (250, 500, 1000, 2000)
    else:
        oracle, classes = prob["y_pool"], None
        labels = (100, 250, 500, 1000)
    out = []; t = time.time()
    for b in labels:
        l.run(prob["X_pool"], oracle, budget=b, classes=classes, progress=False, **loop)
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100, random_state=seed)
        out.append(round(r["log_loss"], 4))
    return {**cfg, "ll": out, "time": round(time.time() - t, 1)}

if __name__ == "__main__":
    cfgs = []
    for proto, nf, T in [("pool", 0.0, 0.03), ("pool", 0.0, 0.1), ("pool", 0.5, 0.1), ("requery", 0.0, 0.1), ("requery", 0.5, 0.1)]:
        for seed in (100, 101, 102, 103):
            for agent in ({"strategy": "variance"}, {"strategy": "uniform"}, {"strategy": "variance", "beta": 1.0}, {"strategy": "entropy"}, {"strategy": "logit_variance"}):
                cfgs.append(dict(protocol=proto, nf=nf, T=T, seed=seed, **agent))
    import os
    done = set()
    if os.path.exists(sys.argv[1]):
        for l in open(sys.argv[1]):
            r = json.loads(l); r.pop("ll"); r.pop("time"); done.add(json.dumps(r, sort_keys=True))
    cfgs = [c for c in cfgs if json.dumps(c, sort_keys=True) not in done]
    print(len(cfgs), "to run", flush=True)
    out = open(sys.argv[1], "a")
    for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
        out.write(json.dumps(r) + "\n"); out.flush()

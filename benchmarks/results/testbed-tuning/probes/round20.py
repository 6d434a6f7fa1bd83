"""Probe round 20 (issue 10): warm-starting gap or undertrained late labels?

Round 16: at T = 0.1 a fresh fit on variance's 4,000 labels beats uniform's, the loop's own
model does not. Round 19: refits inside the loop help only just after a refit. Here, at 2,000
and 4,000 labels of a default-recipe run (pool 40,000), the loop's model is compared with
three fits of the same labels, each 100 epochs of the estimator's own training (prior
precision 10, Adam lr 1e-3, batch 128): ``refit`` (re-initialised, as
``refit_growth`` does), ``warm`` (continued from the loop's weights and Adam state) and
``warm_fresh_adam`` (the loop's weights, a new Adam). If ``warm`` matches ``refit``, the
replay recipe undertrains; if it stays near the loop's model, the weights themselves carry
the gap (warm-starting). Tuning seeds 100-103.
"""
import copy
import json
import os
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed

GRID = (2000, 4000)


def trained(est, X, y, how):
    est = copy.deepcopy(est)
    if how == "refit":
        est.initialize()
    elif how == "warm_fresh_adam":
        est.initialize_optimizer()
    est.partial_fit(X, y, epochs=100, n_train=len(y))
    return est


def one(cfg):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import (
        LOOP_PARAMS,
        make_agent_estimator,
        make_problem,
    )
    from skepinet.learner import ActiveLearner
    from skepinet.metrics import evaluate_enn
    from skepinet.strategies import STRATEGIES
    seed, T = cfg["seed"], cfg["T"]
    prob = make_problem(seed, temperature=T, n_pool=40000, n_test=5000)
    est = make_agent_estimator("epinet", seed, dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    learner = ActiveLearner(est, STRATEGIES[cfg["strategy"]], random_state=seed)

    def score(e):
        return round(evaluate_enn(e, prob["X_test"], prob["y_test"], prob["proba_test"],
                                  n_index=100, random_state=seed)["log_loss"], 4)

    res, t = {}, time.time()
    for b in GRID:
        learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        rows = np.asarray(learner.run_state_.labelled)
        X, y = prob["X_pool"][rows], prob["y_pool"][rows]
        res[b] = {"live": score(est),
                  **{how: score(trained(est, X, y, how))
                     for how in ("refit", "warm", "warm_fresh_adam")}}
    return {**cfg, "res": res, "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    cfgs = [dict(strategy=s, T=T, seed=seed) for T in (0.1, 0.03) for seed in (100, 101, 102, 103)
            for s in ("variance", "uniform", "epig")]
    key = lambda c: (c["strategy"], c["T"], c["seed"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], r["res"], flush=True)

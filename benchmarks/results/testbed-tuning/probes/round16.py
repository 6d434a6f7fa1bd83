"""Probe round 16 (issue 10): is variance's T = 0.1 log-loss loss in its labels or in its training?

Round 14 found variance's probabilities in the coin-flip band *worse* than uniform's with
twice uniform's labels there. If the chosen labels were worth less, no training of them would
close the gap; if the online recipe is at fault (the last SGD iterate is noisier when most
of the replay is coin flips), better training on the same labels would. At 1,000 and 4,000
labels (pool 40,000, defaults otherwise), each agent's model is evaluated three ways:
``live`` (the loop's model), ``polish`` (a copy trained on 1,000 more replay steps at a
tenth of the learning rate, on the same labels) and ``refit`` (a fresh epinet fitted on the
same labels, the tuned baseline's grid, best test log-loss in hindsight, as the baseline is).
Tuning seeds 100-103.
"""
import copy
import json
import os
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed

GRID = (1000, 4000)


def polish(est, X, y, steps, lr, seed):
    from skepinet.recipes import partial_fit
    est = copy.deepcopy(est)
    est.set_params(lr=lr)
    rows = np.random.default_rng(seed).integers(len(y), size=steps * 128)
    partial_fit(est, X[rows], y[rows], 1, n_train=len(y))
    return est


def refit_scores(X, y, prob, seed):
    from sklearn.model_selection import ParameterGrid

    from skepinet.benchmarks.testbed import BASELINE_GRID, make_agent_estimator
    from skepinet.metrics import evaluate_enn
    scores = {}
    for p in ParameterGrid(BASELINE_GRID):
        est = make_agent_estimator("epinet", seed, p).fit(X, y)
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                         random_state=seed)
        scores[f"{p['prior_precision']}/{p['max_epochs']}"] = round(r["log_loss"], 4)
    return scores


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
    t, res = time.time(), {}
    ev = lambda e: round(evaluate_enn(e, prob["X_test"], prob["y_test"], prob["proba_test"],  # noqa: E731
                                      n_index=100, random_state=seed)["log_loss"], 4)
    for b in GRID:
        learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        rows = np.asarray(learner.run_state_.labelled)
        X, y = prob["X_pool"][rows], prob["y_pool"][rows]
        res[b] = {"live": ev(est),
                  "polish": ev(polish(est, X, y, 1000, 1e-4, seed)),
                  "refit": refit_scores(X, y, prob, seed)}
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

"""Probe round 17 (issue 10): does a periodic refit recover variance's labels at T = 0.1?

Round 16 found that variance's 4,000 labels, fitted afresh (any fixed baseline setting),
give a *better* log-loss than uniform's (-0.004 to -0.008), while the loop's own model
(replay recipe) ends behind (+0.005): the loss is in the online training, not in the labels.
Here the loop re-initialises its epinet and fits it on every label so far (prior precision
10, 100 epochs: the baseline grid's best fixed setting in round 16) whenever the labels
have grown by a factor ``growth`` since the last refit (from 100 labels), with the replay
recipe's steps in between; the curve is read on round 12's grid (pool 40,000), whose
``growth=None`` runs are the default recipe. Tuning seeds 100-103.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed

GRID = (100, 250, 350, 500, 700, 1000, 1400, 2000, 2800, 4000)


def refit_points(growth, first=100, last=4000):
    points, n = [], first
    while n <= last:
        points.append(int(round(n)))
        n *= growth
    return points


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
    refits = set(refit_points(cfg["growth"]))
    out, t = [], time.time()
    for b in sorted(set(GRID) | refits):
        learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        if b in refits:
            rows = np.asarray(learner.run_state_.labelled)
            est.set_params(max_epochs=100)
            est.fit(prob["X_pool"][rows], prob["y_pool"][rows])
        if b in GRID:
            r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                             random_state=seed)
            out.append(round(r["log_loss"], 4))
    return {**cfg, "grid": list(GRID), "ll": out, "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    cfgs = [dict(strategy=s, T=T, seed=seed, growth=g)
            for g, strategies in ((2.0, ("variance", "uniform", "epig")),
                                  (1.5, ("variance", "uniform")))
            for T in (0.1, 0.03) for seed in (100, 101, 102, 103) for s in strategies]
    key = lambda c: (c["strategy"], c["T"], c["seed"], c["growth"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], r["ll"], flush=True)

"""Probe round 14 (issue 10): where does variance lose log-loss at T = 0.1, 4,000 labels?

Published (testbed-pool-4000, seeds 0-9): at T = 0.1 variance ends 0.012 behind uniform in
log-loss and 0.006 ahead in accuracy. Here the test set (and the labels each agent chose)
split by how noisy the true label is: terciles of |p_true - 1/2| (near the boundary, middle,
far). Per tercile: the share of the agent's labels, and the test log-loss (cross-entropy
against the true probabilities, so label noise does not blur it). Pool 40,000, tuning seeds
100-103, defaults otherwise.
"""
import json
import os
import sys

import numpy as np
import torch
from joblib import Parallel, delayed


def one(cfg):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import (
        LOOP_PARAMS,
        make_agent_estimator,
        make_problem,
    )
    from skepinet.learner import ActiveLearner
    from skepinet.strategies import STRATEGIES
    seed, T = cfg["seed"], cfg["T"]
    prob = make_problem(seed, temperature=T, n_pool=40000, n_test=5000)
    est = make_agent_estimator("epinet", seed, dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    learner = ActiveLearner(est, STRATEGIES[cfg["strategy"]], random_state=seed)
    learner.run(prob["X_pool"], prob["y_pool"], budget=4000, progress=False, **LOOP_PARAMS["pool"])
    true = prob["proba_test"][:, 1]
    edges = np.quantile(np.abs(true - 0.5), [1 / 3, 2 / 3])
    bins = np.digitize(np.abs(true - 0.5), edges)
    proba = np.clip(est.predict_proba(prob["X_test"]), 1e-12, 1)
    cross_entropy = -(prob["proba_test"] * np.log(proba)).sum(axis=1)
    chosen = np.abs(prob["proba_pool"][learner.run_state_.labelled, 1] - 0.5)
    share = np.bincount(np.digitize(chosen, edges), minlength=3) / len(chosen)
    return {**cfg, "share": share.round(4).tolist(),
            "ce": [round(float(cross_entropy[bins == b].mean()), 4) for b in range(3)],
            "acc": [round(float(((proba[:, 1] > 0.5) == (true > 0.5))[bins == b].mean()), 4)
                    for b in range(3)]}


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
            print(key(r), r["share"], r["ce"], flush=True)

"""Probe round 15 (issue 10): does mixing uniform labels into each batch fix T = 0.1's log-loss?

Round 14: at T = 0.1 variance spends 73% of its labels in the coin-flip band nearest the
boundary and loses log-loss there. The usual remedy for a biased acquisition is to spend a
fixed share of each batch on uniform draws. Arms: each step's 10 labels are the top
(1 - f) * 10 by variance plus f * 10 drawn uniformly from the other candidates, f = 0.3 and
0.5. Pool 40,000 to 4,000 labels as in round 13 (whose default variance and uniform runs,
same code and seeds, are the comparison). Tuning seeds 100-103.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed

GRID = (100, 250, 350, 500, 700, 1000, 1400, 2000, 2800, 4000)


def mixed_variance(fraction):
    """Top-variance rows with ``fraction`` of each batch replaced by uniform draws."""
    from sklearn.utils import check_random_state

    from skepinet.strategies import variance

    def strategy(classifier, X_pool, n_instances=1, *, random_state=None, **kwargs):
        rng = check_random_state(random_state)
        n_uniform = int(round(fraction * n_instances))
        top, scores = variance(classifier, X_pool, n_instances, random_state=rng, **kwargs)
        keep = top[:n_instances - n_uniform]
        rest = np.setdiff1d(np.arange(len(X_pool)), keep)
        drawn = rng.choice(rest, n_uniform, replace=False)
        indices = np.concatenate([keep, drawn]).astype(np.int64)
        return indices, np.zeros(len(indices))
    strategy.__name__ = f"variance_mixed_{fraction}"
    return strategy


def one(cfg):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import (
        LOOP_PARAMS,
        make_agent_estimator,
        make_problem,
    )
    from skepinet.learner import ActiveLearner
    from skepinet.metrics import evaluate_enn
    seed, T = cfg["seed"], cfg["T"]
    prob = make_problem(seed, temperature=T, n_pool=40000, n_test=5000)
    est = make_agent_estimator("epinet", seed, dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    learner = ActiveLearner(est, mixed_variance(cfg["fraction"]), random_state=seed)
    out, t = [], time.time()
    for b in GRID:
        learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                         random_state=seed)
        out.append([round(r["log_loss"], 4), round(r["accuracy"], 4)])
    return {**cfg, "grid": list(GRID), "ll_acc": out, "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    cfgs = [dict(fraction=f, T=T, seed=seed) for f in (0.3, 0.5) for T in (0.03, 0.1)
            for seed in (100, 101, 102, 103)]
    key = lambda c: (c["fraction"], c["T"], c["seed"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], flush=True)

"""Probe round 12 (issue 10): does the pool protocol's saving grow with the budget?

Rounds 9-11 measured the saving at one budget (1,000 labels from 10,000) and found about
0.8x (T = 0.03) and none (T = 0.1). Active learning's gain usually grows once the model is
good enough for its uncertainty to point at the boundary, so here every agent runs on to
4,000 labels (pool 10,000, and pool 40,000 so that 4,000 is still a tenth of it), evaluated
on a grid of label counts; the summary reads labels-to-match at budgets 1,000, 2,000, 4,000.
Defaults otherwise (pool loop, 10 per step from 1,000 candidates, 1 SGD step per label).
Tuning seeds 100-103.
"""
import json
import os
import sys
import time

import torch
from joblib import Parallel, delayed

GRID = (100, 250, 350, 500, 700, 1000, 1400, 2000, 2800, 4000)


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
    prob = make_problem(seed, temperature=T, n_pool=cfg["pool"], n_test=5000)
    est = make_agent_estimator("epinet", seed, dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    learner = ActiveLearner(est, STRATEGIES[cfg["strategy"]], random_state=seed)
    out, t = [], time.time()
    for b in GRID:
        learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                         random_state=seed)
        out.append(round(r["log_loss"], 4))
    return {**cfg, "grid": list(GRID), "ll": out, "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    cfgs = [dict(strategy=s, T=T, seed=seed, pool=pool)
            for pool in (10000, 40000) for T in (0.03, 0.1) for seed in (100, 101, 102, 103)
            for s in ("variance", "uniform", "epig")]
    key = lambda c: (c["strategy"], c["T"], c["seed"], c["pool"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], flush=True)

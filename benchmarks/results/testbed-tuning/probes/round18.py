"""Probe round 18 (issue 10): what are each agent's labels worth to a model fitted on them?

Round 16 found variance's 4,000 labels at T = 0.1 fit a better epinet afresh than
uniform's, while the loop's own model ends behind uniform's. Here the question is put
the way the tuned baseline is measured: at 1,000 / 1,400 / 2,000 / 2,800 / 4,000 labels of
each agent's run (pool 40,000, defaults otherwise), the baseline's GridSearchCV (a
BaselineClassifier over BASELINE_GRID, best test score in hindsight, exactly as
``run_baseline`` does for random rows) is fitted on the rows the agent labelled. The
uniform agent's rows are random rows, so its curve is the baseline's. Tuning seeds 100-103.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed

GRID = (1000, 1400, 2000, 2800, 4000)


def baseline_scores(X_train, y_train, prob, seed):
    from sklearn.model_selection import GridSearchCV

    from skepinet.benchmarks.testbed import BASELINE_GRID, make_agent_estimator
    X = np.concatenate([X_train, prob["X_test"]])
    y = np.concatenate([y_train, prob["y_test"]])
    split = [(np.arange(len(X_train)), np.arange(len(X_train), len(X)))]
    search = GridSearchCV(make_agent_estimator("baseline", seed, {}), BASELINE_GRID, cv=split,
                          scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"},
                          refit=False, error_score="raise").fit(X, y)
    res = search.cv_results_
    return {"log_loss": [round(-v, 4) for v in res["split0_test_log_loss"]],
            "accuracy": [round(v, 4) for v in res["split0_test_accuracy"]]}


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
    res, t = {}, time.time()
    for b in GRID:
        learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        rows = np.asarray(learner.run_state_.labelled)
        res[b] = baseline_scores(prob["X_pool"][rows], prob["y_pool"][rows], prob, seed)
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
            print(key(r), r["time"], flush=True)

"""Probe round 13 (issue 10): does the saving at a long budget survive better training?

Round 11 found that fixes for the first SGD steps (Adam's beta2 0.99, a weight-decay floor,
a uniform warm start) train every agent better and shrink variance's lead at 1,000 labels.
Round 12 found the saving grows with the budget (T = 0.03: 0.69x at 1,000, 0.51x at 4,000 on
pool 40,000). Here the same long runs (pool 40,000, to 4,000 labels) under each fix, so the
long-budget saving is not read off a handicapped uniform. Tuning seeds 100-103.
"""
import contextlib
import json
import os
import sys
import time

import torch
from joblib import Parallel, delayed

GRID = (100, 250, 350, 500, 700, 1000, 1400, 2000, 2800, 4000)


@contextlib.contextmanager
def decay_floor(floor):
    """Weight decay ``prior_precision / max(n_train, floor)`` (undone on exit)."""
    import skepinet.learner as learner
    original = learner.partial_fit

    def patched(estimator, X, y, epochs, *, classes=None, n_train=None):
        n = None if n_train is None else max(n_train, floor)
        return original(estimator, X, y, epochs, classes=classes, n_train=n)
    if floor:
        learner.partial_fit = patched
    try:
        yield
    finally:
        learner.partial_fit = original


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
    params = dict(lr=1e-3, batch_size=128, prior_precision=10.0)
    if cfg.get("beta2"):
        params["optimizer__betas"] = (0.9, cfg["beta2"])
    est = make_agent_estimator("epinet", seed, params)
    learner = ActiveLearner(est, STRATEGIES[cfg["strategy"]], random_state=seed)
    loop = LOOP_PARAMS["pool"]
    out, t = [], time.time()
    with decay_floor(cfg.get("floor", 0)):
        if cfg.get("warmup"):  # one acquisition on the unfitted model: uniform
            learner.run(prob["X_pool"], prob["y_pool"], budget=cfg["warmup"], progress=False,
                        **dict(loop, acquisition_size=cfg["warmup"]))
        for b in GRID:
            learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **loop)
            r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                             random_state=seed)
            out.append(round(r["log_loss"], 4))
    return {**cfg, "grid": list(GRID), "ll": out, "time": round(time.time() - t, 1)}


ARMS = {"default": {}, "floor50": {"floor": 50}, "beta2-0.99": {"beta2": 0.99},
        "warmup50": {"warmup": 50}}

if __name__ == "__main__":
    cfgs = [dict(arm=a, strategy=s, T=T, seed=seed, **spec)
            for T in (0.03, 0.1) for seed in (100, 101, 102, 103)
            for s in ("variance", "uniform") for a, spec in ARMS.items()]
    key = lambda c: (c["arm"], c["strategy"], c["T"], c["seed"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], flush=True)

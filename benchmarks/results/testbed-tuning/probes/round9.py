"""Probe round 9 (issue 10, pool protocol): where does the variance agent's label saving stop?

Arms on the standard problem, tuning seeds 100-103 only:
  variance / uniform at the published defaults;
  ensemble:variance (is the ENN the bottleneck?);
  variance with n = 1 acquisitions (the paper's setting);
  'fresh' replay: every new label is in the next SGD minibatch (late labels are trained on);
  2 SGD steps per label for both agents (is the saving compute-bound?).
"""
import contextlib
import json
import os
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed


@contextlib.contextmanager
def replay(fresh):
    """With ``fresh``, each acquisition's new labels join its first replay minibatch.

    The patch is undone on exit: joblib reuses worker processes, and a patch left in
    place would leak into the next unit that worker runs.
    """
    import skepinet.recipes as recipes
    original = recipes._replay_minibatches

    def patched(state, steps_per_label, batch_size, rng):
        rows = original(state, steps_per_label, batch_size, rng)
        n_labelled, n_new = len(state.labelled), len(state.pending)
        rows[:n_new] = np.arange(n_labelled - n_new, n_labelled)
        return rows
    if fresh:
        recipes._replay_minibatches = patched
    try:
        yield
    finally:
        recipes._replay_minibatches = original


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
    prob = make_problem(seed, temperature=T, n_pool=10000, n_test=5000, noisy_fraction=0.0)
    est = make_agent_estimator(cfg.get("net", "epinet"), seed,
                               dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    learner = ActiveLearner(est, STRATEGIES[cfg["strategy"]], random_state=seed)
    loop = dict(LOOP_PARAMS["pool"])
    loop.update(cfg.get("loop", {}))
    out, t = [], time.time()
    for b in (100, 250, 500, 1000):
        with replay(cfg.get("fresh", False)):
            learner.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **loop)
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                         random_state=seed)
        out.append(round(r["log_loss"], 4))
    return {**cfg, "ll": out, "time": round(time.time() - t, 1)}


ARMS = {
    "variance": dict(strategy="variance"),
    "uniform": dict(strategy="uniform"),
    "ensemble-variance": dict(strategy="variance", net="ensemble"),
    "variance-n1": dict(strategy="variance", loop={"acquisition_size": 1}),
    "variance-fresh": dict(strategy="variance", fresh=True),
    "uniform-fresh": dict(strategy="uniform", fresh=True),
    "variance-spl2": dict(strategy="variance", loop={"steps_per_label": 2.0}),
    "uniform-spl2": dict(strategy="uniform", loop={"steps_per_label": 2.0}),
}

if __name__ == "__main__":
    cfgs = [dict(arm=a, T=T, seed=s, **spec) for T in (0.03, 0.1) for s in (100, 101, 102, 103)
            for a, spec in ARMS.items()]
    done = set()
    if os.path.exists(sys.argv[1]):
        done = {(r["arm"], r["T"], r["seed"]) for r in map(json.loads, open(sys.argv[1]))}
    cfgs = [c for c in cfgs if (c["arm"], c["T"], c["seed"]) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()

"""Probe round 10 (issue 10): EPIG (expected predictive information gain) against variance.

Tuning seeds 100-103 only; the published defaults otherwise (as in round 6).
"""
import json
import os
import sys
import time

import torch
from joblib import Parallel, delayed


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
    learner = ActiveLearner(est, STRATEGIES[cfg["strategy"]], random_state=seed)
    loop = dict(LOOP_PARAMS[proto])
    if proto == "requery":
        loop["candidate_size"] = n_pool
        oracle, classes, labels = redraw_oracle(prob["proba_pool"], seed), [0, 1], (250, 500, 1000, 2000)
    else:
        oracle, classes, labels = prob["y_pool"], None, (100, 250, 500, 1000)
    out, t = [], time.time()
    for b in labels:
        learner.run(prob["X_pool"], oracle, budget=b, classes=classes, progress=False, **loop)
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100,
                         random_state=seed)
        out.append(round(r["log_loss"], 4))
    return {**cfg, "arm": cfg["strategy"], "ll": out, "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    tasks = [("pool", 0.0, 0.03), ("pool", 0.0, 0.1), ("pool", 0.5, 0.1), ("requery", 0.0, 0.1),
             ("requery", 0.5, 0.1)]
    cfgs = [dict(protocol=p, nf=nf, T=T, seed=s, strategy=a) for p, nf, T in tasks
            for s in (100, 101, 102, 103) for a in ("epig", "variance", "uniform", "entropy")]
    key = lambda c: (c["protocol"], c["nf"], c["T"], c["seed"], c["strategy"])
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()

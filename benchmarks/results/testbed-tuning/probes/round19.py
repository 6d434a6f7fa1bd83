"""Probe round 19 (issue 10): the replay recipe with refits (``refit_growth``), as the package runs it.

Round 17 emulated refits (from 100 labels) between ``run`` calls; here the loop itself
refits (``ActiveLearner.run(..., refit_growth=g)``: every label, the estimator's 100
epochs, whenever the labels reach g times those of the last fresh start), through the
testbed's own ``run_agent``, on the tasks the published sweeps hold: the pool protocol
at a 4,000-label budget from 40,000 (standard T = 0.03 / 0.1, heteroscedastic T = 0.1) and
the requery protocol (200 inputs, 2,000 labels, T = 0.1, standard and heteroscedastic),
for variance, epig, entropy and uniform; ``growth=None`` is the published recipe.
Tuning seeds 100-103.
"""
import json
import os
import sys
import time

import torch
from joblib import Parallel, delayed

TASKS = {
    "pool-T0.03": dict(protocol="pool", T=0.03, noisy=0.0),
    "pool-T0.1": dict(protocol="pool", T=0.1, noisy=0.0),
    "pool-hetero-T0.1": dict(protocol="pool", T=0.1, noisy=0.5),
    "requery-T0.1": dict(protocol="requery", T=0.1, noisy=0.0),
    "requery-hetero-T0.1": dict(protocol="requery", T=0.1, noisy=0.5),
}
GRIDS = {"pool": (250, 500, 1000, 1400, 2000, 2800, 4000),
         "requery": (200, 400, 700, 1000, 1400, 2000)}


def one(cfg):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import LOOP_PARAMS, make_problem, run_agent
    task = TASKS[cfg["task"]]
    seed, protocol = cfg["seed"], task["protocol"]
    n_pool = 40000 if protocol == "pool" else 200
    prob = make_problem(seed, temperature=task["T"], n_pool=n_pool, n_test=5000,
                        noisy_fraction=task["noisy"])
    loop = dict(LOOP_PARAMS[protocol], refit_growth=cfg["growth"])
    t = time.time()
    curve = run_agent(f"epinet:{cfg['strategy']}", seed, prob, labels=list(GRIDS[protocol]),
                      loop_params=loop)
    return {**cfg, "grid": list(GRIDS[protocol]),
            "ll": [round(r["log_loss"], 4) for r in curve],
            "acc": [round(r["accuracy"], 4) for r in curve], "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    cfgs = [dict(task=task, strategy=s, seed=seed, growth=g)
            for g in (1.5, None) for task in TASKS for seed in (100, 101, 102, 103)
            for s in ("variance", "uniform", "epig", "entropy")]
    cfgs += [dict(task=task, strategy=s, seed=seed, growth=1.25)
             for task in ("pool-T0.03", "pool-T0.1") for seed in (100, 101, 102, 103)
             for s in ("variance", "uniform")]
    key = lambda c: (c["task"], c["strategy"], c["seed"], c["growth"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], r["ll"][-1], flush=True)

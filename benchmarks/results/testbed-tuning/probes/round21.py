"""Probe round 21 (issue 10): does a stronger prior let the loop keep variance's labels' worth?

Round 20: 100 more epochs from the loop's weights make variance's model much worse at
T = 0.1 (uniform's barely moves), while 100 epochs from scratch make it better: variance's
labels, bunched on the noisy boundary, are overfitted by long training, and the loop's model
has had long training on its early labels. The prior (weight decay prior_precision / labels,
0.0025 at 4,000 labels) is the loop's regulariser; here it is 30 and 100 instead of 10,
for every agent, through the testbed's ``run_agent`` (pool 40,000, budget 4,000, the
published recipe otherwise); round 19's ``growth=None`` runs are prior 10. Tuning seeds 100-103.
"""
import json
import os
import sys
import time

import torch
from joblib import Parallel, delayed

GRID = (250, 500, 1000, 1400, 2000, 2800, 4000)


def one(cfg):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import LOOP_PARAMS, make_problem, run_agent
    seed = cfg["seed"]
    prob = make_problem(seed, temperature=cfg["T"], n_pool=40000, n_test=5000)
    t = time.time()
    curve = run_agent(f"epinet:{cfg['strategy']}", seed, prob, labels=list(GRID),
                      agent_params={"prior_precision": cfg["prior"]},
                      loop_params=dict(LOOP_PARAMS["pool"]))
    return {**cfg, "grid": list(GRID), "ll": [round(r["log_loss"], 4) for r in curve],
            "acc": [round(r["accuracy"], 4) for r in curve], "time": round(time.time() - t, 1)}


if __name__ == "__main__":
    cfgs = [dict(strategy=s, T=T, seed=seed, prior=p) for p in (30.0, 100.0) for T in (0.1, 0.03)
            for seed in (100, 101, 102, 103) for s in ("variance", "uniform", "epig")]
    key = lambda c: (c["strategy"], c["T"], c["seed"], c["prior"])  # noqa: E731
    done = {key(json.loads(l)) for l in open(sys.argv[1])} if os.path.exists(sys.argv[1]) else set()
    cfgs = [c for c in cfgs if key(c) not in done]
    print(len(cfgs), "to run", flush=True)
    with open(sys.argv[1], "a") as out:
        for r in Parallel(n_jobs=2, return_as="generator_unordered")(delayed(one)(c) for c in cfgs):
            out.write(json.dumps(r) + "\n"); out.flush()
            print(key(r), r["time"], r["ll"][-1], flush=True)

"""Summarise round 21 beside round 19's prior-10 default runs: mean curves, paired differences to
uniform at 2,000 / 4,000 labels and labels-to-match uniform's score at the same prior.

Usage: python summ21.py round21.jsonl round19.jsonl
"""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["prior"], r["T"], r["strategy"])][r["seed"]] = np.array(r["ll"])
    grid = np.array(r["grid"])
TASK_T = {"pool-T0.03": 0.03, "pool-T0.1": 0.1}
for r in map(json.loads, open(sys.argv[2])):
    if r["task"] in TASK_T and r["growth"] is None and r["strategy"] != "entropy":
        by[(10.0, TASK_T[r["task"]], r["strategy"])][r["seed"]] = np.array(r["ll"])
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731


def labels_to_match(curve, target):
    for i, value in enumerate(curve):
        if value <= target:
            if i == 0:
                return grid[0]
            a, b = curve[i - 1], value
            return float(np.exp(np.log(grid[i - 1]) + (a - target) / (a - b)
                                * np.log(grid[i] / grid[i - 1])))
    return float("nan")


print("grid", " ".join(map(str, grid)))
for T in (0.03, 0.1):
    for prior in (10.0, 30.0, 100.0):
        uni = by.get((prior, T, "uniform"))
        if not uni:
            continue
        print(f"T = {T}, prior precision {prior:g}")
        for s in ("uniform", "variance", "epig"):
            curves = by.get((prior, T, s), {})
            if not curves:
                continue
            seeds = sorted(set(curves) & set(uni))
            mean = np.mean([curves[k] for k in seeds], axis=0)
            line = f"  {s:9s} n={len(seeds)} {' '.join(f'{v:.3f}' for v in mean)}"
            if s != "uniform":
                for budget in (2000, 4000):
                    j = list(grid).index(budget)
                    d = np.array([curves[k][j] - uni[k][j] for k in seeds])
                    target = np.mean([uni[k][j] for k in seeds])
                    line += (f"  @{budget} {d.mean():+.4f} ± {se(d):.4f} "
                             f"x{labels_to_match(mean, target) / budget:.2f}")
            print(line)

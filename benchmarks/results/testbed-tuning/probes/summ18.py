"""Summarise round 18: the tuned baseline's score (best of its grid in hindsight) fitted on each
agent's labels; paired differences to uniform's labels and labels-to-match at 2,000 / 4,000.

Usage: python summ18.py round18.jsonl
"""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    grid = sorted(int(b) for b in r["res"])
    by[(r["T"], r["strategy"])][r["seed"]] = {
        "log_loss": np.array([min(r["res"][str(b)]["log_loss"]) for b in grid]),
        "accuracy": np.array([max(r["res"][str(b)]["accuracy"]) for b in grid])}
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731


def labels_to_match(curve, target, sign):
    for i, value in enumerate(curve):
        if sign * value <= sign * target:
            if i == 0:
                return grid[0]
            a, b = curve[i - 1], value
            return float(np.exp(np.log(grid[i - 1]) + (a - target) / (a - b)
                                * np.log(grid[i] / grid[i - 1])))
    return float("nan")


print("grid", grid)
for metric, sign in (("log_loss", 1), ("accuracy", -1)):
    for T in (0.03, 0.1):
        uni = by[(T, "uniform")]
        print(f"{metric}, T = {T}")
        for s in ("uniform", "variance", "epig"):
            runs = by[(T, s)]
            seeds = sorted(set(runs) & set(uni))
            mean = np.mean([runs[k][metric] for k in seeds], axis=0)
            print(f"  {s:9s} n={len(seeds)} {' '.join(f'{v:.4f}' for v in mean)}")
            if s == "uniform":
                continue
            cells = []
            for budget in (2000, 4000):
                j = grid.index(budget)
                d = np.array([runs[k][metric][j] - uni[k][metric][j] for k in seeds])
                target = np.mean([uni[k][metric][j] for k in seeds])
                ratio = labels_to_match(mean, target, sign) / budget
                cells.append(f"@{budget}: {d.mean():+.4f} ± {se(d):.4f} x{ratio:.2f}")
            print("            " + "   ".join(cells))

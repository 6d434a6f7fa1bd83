"""Summarise round 19: per task and refit growth, mean curves, paired differences at the budget
(to uniform and to entropy) and labels-to-match uniform's budget log-loss.

Usage: python summ19.py round19.jsonl
"""
import collections
import json
import sys

import numpy as np

by, grids = collections.defaultdict(dict), {}
for r in map(json.loads, open(sys.argv[1])):
    by[(r["task"], r["growth"], r["strategy"])][r["seed"]] = np.array(r["ll"])
    grids[r["task"]] = np.array(r["grid"])
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731


def labels_to_match(grid, curve, target):
    for i, value in enumerate(curve):
        if value <= target:
            if i == 0:
                return grid[0]
            a, b = curve[i - 1], value
            return float(np.exp(np.log(grid[i - 1]) + (a - target) / (a - b)
                                * np.log(grid[i] / grid[i - 1])))
    return float("nan")


def paired(a, b):
    seeds = sorted(set(a) & set(b))
    d = np.array([a[k][-1] - b[k][-1] for k in seeds])
    return f"{d.mean():+.4f} ± {se(d):.4f} ({abs(d.mean()) / se(d):.1f})"


for task in grids:
    grid = grids[task]
    print(f"{task}  grid {' '.join(map(str, grid))}")
    for growth in (None, 1.5, 1.25):
        uni = by.get((task, growth, "uniform"))
        if not uni:
            continue
        ent = by.get((task, growth, "entropy"), {})
        target = np.mean([c[-1] for c in uni.values()])
        print(f"  refit growth {growth}")
        for s in ("uniform", "variance", "epig", "entropy"):
            curves = by.get((task, growth, s))
            if not curves:
                continue
            mean = np.mean(list(curves.values()), axis=0)
            line = f"    {s:9s} n={len(curves)} {' '.join(f'{v:.3f}' for v in mean)}"
            if s in ("variance", "epig"):
                ratio = labels_to_match(grid, mean, target) / grid[-1]
                line += f"  -unif {paired(curves, uni)}"
                if ent:
                    line += f"  -ent {paired(curves, ent)}"
                line += f"  x{ratio:.2f}"
            print(line)

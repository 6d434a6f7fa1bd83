"""Summarise round 17 beside round 12's default-recipe runs (pool 40,000): mean curves,
paired differences to uniform at 1,000 / 2,000 / 4,000 labels and labels-to-match.

Usage: python summ17.py round17.jsonl round12.jsonl
"""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["growth"], r["T"], r["strategy"])][r["seed"]] = np.array(r["ll"])
    grid = np.array(r["grid"])
for r in map(json.loads, open(sys.argv[2])):
    if r["pool"] == 40000:
        by[(None, r["T"], r["strategy"])][r["seed"]] = np.array(r["ll"])
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731


def labels_to_match(curve, target):
    """First label count (log-linear between grid points) where ``curve`` reaches ``target``."""
    for i, value in enumerate(curve):
        if value <= target:
            if i == 0:
                return grid[0]
            a, b = curve[i - 1], value
            frac = (a - target) / (a - b)
            return float(np.exp(np.log(grid[i - 1]) + frac * np.log(grid[i] / grid[i - 1])))
    return float("nan")


print("grid", " ".join(map(str, grid)))
for T in (0.03, 0.1):
    for growth in (None, 2.0, 1.5):
        uni = by.get((growth, T, "uniform"), {})
        if not uni:
            continue
        print(f"T = {T}, refit growth {growth}")
        for s in ("uniform", "variance", "epig"):
            curves = by.get((growth, T, s), {})
            if not curves:
                continue
            mean = np.mean(list(curves.values()), axis=0)
            seeds = sorted(set(curves) & set(uni))
            cells = []
            for budget in (1000, 2000, 4000):
                j = list(grid).index(budget)
                d = np.array([curves[k][j] - uni[k][j] for k in seeds])
                target = np.mean([uni[k][j] for k in seeds])
                ratio = labels_to_match(mean, target) / budget
                cells.append(f"@{budget}: {d.mean():+.4f} ± {se(d):.4f} x{ratio:.2f}")
            print(f"  {s:9s} n={len(curves)} {' '.join(f'{v:.3f}' for v in mean)}")
            if s != "uniform":
                print("           " + "   ".join(cells))

"""Summarise round 12: mean curves, paired differences to uniform and labels-to-match per budget."""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["pool"], r["T"], r["strategy"])][r["seed"]] = np.array(r["ll"])
    grid = np.array(r["grid"])
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
for pool, T in sorted({k[:2] for k in by}):
    print(f"pool {pool}, T = {T}")
    uni = by.get((pool, T, "uniform"), {})
    for s in ("uniform", "variance", "epig"):
        curves = by.get((pool, T, s), {})
        if not curves:
            continue
        mean = np.mean(list(curves.values()), axis=0)
        cells = []
        seeds = sorted(set(curves) & set(uni))
        for budget in (1000, 2000, 4000):
            j = list(grid).index(budget)
            d = np.array([curves[k][j] - uni[k][j] for k in seeds])
            target = np.mean([uni[k][j] for k in seeds])
            ratio = labels_to_match(mean, target) / budget
            cells.append(f"@{budget}: {d.mean():+.3f} ± {se(d):.3f} x{ratio:.2f}")
        print(f"  {s:9s} n={len(curves)} {' '.join(f'{v:.3f}' for v in mean)}")
        if s != "uniform":
            print("           " + "   ".join(cells))

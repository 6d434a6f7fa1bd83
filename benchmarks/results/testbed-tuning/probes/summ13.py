"""Summarise round 13: per arm, variance against uniform under the same arm at 1,000 / 2,000 / 4,000 labels."""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["T"], r["arm"], r["strategy"])][r["seed"]] = np.array(r["ll"])
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


for T in sorted({k[0] for k in by}):
    print(f"T = {T}")
    for arm in ("default", "floor50", "beta2-0.99", "warmup50"):
        var, uni = by.get((T, arm, "variance"), {}), by.get((T, arm, "uniform"), {})
        seeds = sorted(set(var) & set(uni))
        if not seeds:
            continue
        mv = np.mean([var[s] for s in seeds], axis=0)
        mu = np.mean([uni[s] for s in seeds], axis=0)
        cells = []
        for budget in (1000, 2000, 4000):
            j = list(grid).index(budget)
            d = np.array([var[s][j] - uni[s][j] for s in seeds])
            cells.append(f"@{budget}: {d.mean():+.3f} ± {se(d):.3f} x{labels_to_match(mv, mu[j]) / budget:.2f}")
        print(f"  {arm:11s} n={len(seeds)} uniform {mu[5]:.3f} {mu[7]:.3f} {mu[9]:.3f}  variance "
              f"{mv[5]:.3f} {mv[7]:.3f} {mv[9]:.3f}   " + "   ".join(cells))

"""Summarise round 15 against round 13's default variance and uniform runs (same seeds, code)."""
import collections
import json
import sys

import numpy as np

mixed, base = collections.defaultdict(dict), collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    mixed[(r["T"], r["fraction"])][r["seed"]] = np.array(r["ll_acc"])[:, 0]
    grid = np.array(r["grid"])
for r in map(json.loads, open(sys.argv[2])):
    if r["arm"] == "default":
        base[(r["T"], r["strategy"])][r["seed"]] = np.array(r["ll"])
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
cols = [list(grid).index(b) for b in (1000, 2000, 4000)]
for T in sorted({k[0] for k in mixed}):
    print(f"T = {T}: log-loss at 1,000 / 2,000 / 4,000; paired difference to uniform")
    uni = base[(T, "uniform")]
    arms = [("variance (top-k)", base[(T, "variance")])] + [
        (f"variance, {f:.0%} uniform", mixed[(T, f)]) for f in sorted({k[1] for k in mixed})]
    for name, runs in [("uniform", uni)] + arms:
        seeds = sorted(set(runs) & set(uni))
        mean = np.mean([runs[s] for s in seeds], axis=0)
        line = f"  {name:22s} " + " ".join(f"{mean[j]:.3f}" for j in cols)
        if name != "uniform":
            line += "   " + "  ".join(
                f"{np.mean(d):+.3f} ± {se(d):.3f}"
                for d in (np.array([runs[s][j] - uni[s][j] for s in seeds]) for j in cols))
        print(line)

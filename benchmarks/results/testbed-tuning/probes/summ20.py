"""Summarise round 20: the loop's model against 100 epochs from scratch, from its weights, and
from its weights with a new Adam; mean log-loss and paired differences to uniform.

Usage: python summ20.py round20.jsonl
"""
import json
import sys

import numpy as np

runs = {(r["strategy"], r["T"], r["seed"]): r["res"] for r in map(json.loads, open(sys.argv[1]))}
seeds = sorted({k[2] for k in runs})
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
for T in (0.03, 0.1):
    for budget in ("2000", "4000"):
        print(f"T = {T}, {budget} labels")
        for arm in ("live", "refit", "warm", "warm_fresh_adam"):
            value = {s: np.array([runs[(s, T, k)][budget][arm] for k in seeds])
                     for s in ("uniform", "variance", "epig")}
            cells = [f"{s} {v.mean():.4f}" for s, v in value.items()]
            for s in ("variance", "epig"):
                d = value[s] - value["uniform"]
                cells.append(f"{s} - uniform {d.mean():+.4f} ± {se(d):.4f}")
            print(f"  {arm:16s} " + "   ".join(cells))

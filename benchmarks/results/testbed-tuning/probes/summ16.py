"""Summarise round 16: the loop's model (live), a polished copy and fresh refits on the same
labels; mean log-loss per agent and paired differences to uniform at 1,000 and 4,000 labels.

Usage: python summ16.py round16.jsonl
"""
import json
import sys

import numpy as np

runs = {(r["strategy"], r["T"], r["seed"]): r["res"] for r in map(json.loads, open(sys.argv[1]))}
seeds = sorted({k[2] for k in runs})
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
ARMS = {"live": lambda res: res["live"], "polish": lambda res: res["polish"],
        "refit 10/100": lambda res: res["refit"]["10.0/100"],
        "refit 3/30": lambda res: res["refit"]["3.0/30"],
        "refit, best in hindsight": lambda res: min(res["refit"].values())}

for T in (0.03, 0.1):
    for budget in ("1000", "4000"):
        print(f"T = {T}, {budget} labels")
        for arm, read in ARMS.items():
            value = {s: np.array([read(runs[(s, T, k)][budget]) for k in seeds])
                     for s in ("uniform", "variance", "epig")}
            dv, de = value["variance"] - value["uniform"], value["epig"] - value["uniform"]
            print(f"  {arm:26s} uniform {value['uniform'].mean():.4f} variance "
                  f"{value['variance'].mean():.4f} epig {value['epig'].mean():.4f}   "
                  f"variance - uniform {dv.mean():+.4f} ± {se(dv):.4f}   "
                  f"epig - uniform {de.mean():+.4f} ± {se(de):.4f}")

"""Summarise round 14: label shares and test cross-entropy per noise tercile, and paired differences."""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["T"], r["strategy"])][r["seed"]] = r
se = lambda x: x.std(axis=0, ddof=1) / np.sqrt(len(x))  # noqa: E731
for T in sorted({k[0] for k in by}):
    print(f"T = {T}  (terciles of |p_true - 1/2|: near the boundary, middle, far)")
    uni = by[(T, "uniform")]
    for s in ("uniform", "variance", "epig"):
        runs = by[(T, s)]
        seeds = sorted(set(runs) & set(uni))
        share = np.mean([runs[k]["share"] for k in seeds], axis=0)
        ce = np.mean([runs[k]["ce"] for k in seeds], axis=0)
        acc = np.mean([runs[k]["acc"] for k in seeds], axis=0)
        line = (f"  {s:9s} labels {' '.join(f'{v:.2f}' for v in share)}  cross-entropy "
                f"{' '.join(f'{v:.3f}' for v in ce)}  accuracy {' '.join(f'{v:.3f}' for v in acc)}")
        if s != "uniform":
            d = np.array([np.array(runs[k]["ce"]) - np.array(uni[k]["ce"]) for k in seeds])
            line += "   CE - uniform " + "  ".join(
                f"{m:+.3f} ± {e:.3f}" for m, e in zip(d.mean(axis=0), se(d)))
        print(line)

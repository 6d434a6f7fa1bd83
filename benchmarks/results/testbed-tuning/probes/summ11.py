"""Summarise round 11: mean curves, and each arm against the default with the same strategy."""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["T"], r["arm"])][r["seed"]] = np.array(r["ll"])
se = lambda x: x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")  # noqa: E731
for T in sorted({k[0] for k in by}):
    print(f"T = {T}")
    for (t, arm), curves in sorted(by.items()):
        if t != T:
            continue
        strategy = arm.split("-")[0]
        cells = []
        for ref in (f"{strategy}-default", f"uniform-{arm.split('-', 1)[1]}"):
            other = by.get((T, ref), {})
            seeds = sorted(set(curves) & set(other))
            if ref == arm or not seeds:
                continue
            d = np.array([curves[s][-1] - other[s][-1] for s in seeds])
            cells.append(f"- {ref}: {d.mean():+.3f} ± {se(d):.3f}")
        mean = np.mean(list(curves.values()), axis=0)
        print(f"  {arm:24s} n={len(curves)} {' '.join(f'{v:.3f}' for v in mean)}   " + "   ".join(cells))

"""Summarise round 10: mean curves and paired differences at the budget, per task."""
import collections
import json
import sys

import numpy as np

by = collections.defaultdict(dict)
for r in map(json.loads, open(sys.argv[1])):
    by[(r["protocol"], r["nf"], r["T"], r["arm"])][r["seed"]] = np.array(r["ll"])
se = lambda x: x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")  # noqa: E731
for task in sorted({k[:3] for k in by}):
    print("%s%s-T%g" % (task[0], "-hetero" if task[1] else "", task[2]))
    for arm in ("epig", "variance", "entropy", "uniform"):
        curves = by.get((*task, arm), {})
        if not curves:
            continue
        mean = np.mean(list(curves.values()), axis=0)
        cells = []
        for ref in ("uniform", "variance", "entropy"):
            other = by.get((*task, ref), {})
            seeds = sorted(set(curves) & set(other))
            if ref == arm or not seeds:
                continue
            d = np.array([curves[s][-1] - other[s][-1] for s in seeds])
            cells.append(f"- {ref}: {d.mean():+.3f} ± {se(d):.3f}")
        print(f"  {arm:9s} n={len(curves)} {' '.join(f'{v:.3f}' for v in mean)}   " + "   ".join(cells))

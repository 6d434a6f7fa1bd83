"""Summarise a round-9 style probe file: mean curves and paired differences at the budget."""
import collections
import json
import sys

import numpy as np

rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(dict)
for r in rows:
    by[(r["T"], r["arm"])][r["seed"]] = np.array(r["ll"])
for T in sorted({k[0] for k in by}):
    print(f"T = {T}")
    for (t, arm), curves in by.items():
        if t != T:
            continue
        suffix = next((x for x in ("-fresh", "-spl2") if arm.endswith(x)), "")
        ref = "uniform" + suffix
        seeds = sorted(set(curves) & set(by[(T, ref)]))
        d = np.array([curves[s][-1] - by[(T, ref)][s][-1] for s in seeds])
        dv = np.array([curves[s][-1] - by[(T, "variance")][s][-1] for s in seeds if s in by[(T, "variance")]])
        mean = np.mean([curves[s] for s in seeds], axis=0)
        se = lambda x: x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
        print(f"  {arm:18s} n={len(seeds)} {' '.join(f'{v:.3f}' for v in mean)}  - {ref}: {d.mean():+.3f} ± {se(d):.3f}"
              f"   - variance: {dv.mean():+.3f} ± {se(dv):.3f}")

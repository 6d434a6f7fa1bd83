import collections
import json
import sys

import numpy as np

rows = [json.loads(l) for l in open(sys.argv[1])]
def name(r): return r["strategy"] + (f"-power{r['beta']:g}" if "beta" in r else "")
g = collections.defaultdict(dict)
for r in rows: g[(r["protocol"], r["nf"], r["T"], name(r))][r["seed"]] = np.array(r["ll"])
tasks = sorted({k[:3] for k in g})
for t in tasks:
    print(f"== {t[0]} nf={t[1]} T={t[2]}")
    for ref in ("uniform", "variance", "entropy"):
        pass
    for a in sorted(k[3] for k in g if k[:3] == t):
        v = g[t + (a,)]
        line = f"  {a:18s} n={len(v)} " + " ".join(f"{m:.3f}" for m in np.mean(list(v.values()), 0))
        for ref in ("uniform", "variance"):
            if a == ref: continue
            rv = g.get(t + (ref,), {})
            common = [s for s in v if s in rv]
            if len(common) >= 2:
                d = np.array([v[s][-1] - rv[s][-1] for s in common])
                line += f" | -{ref}@budget {d.mean():+.3f}±{d.std(ddof=1)/np.sqrt(len(d)):.3f}"
        print(line)

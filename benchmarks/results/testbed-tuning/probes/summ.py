import collections
import json
import sys

import numpy as np

rows=[json.loads(l) for l in open(sys.argv[1])]
g=collections.defaultdict(dict)
for r in rows:
    key=(r["T"], r.get("tag",""), r["agent"]); g[key][r["seed"]]=np.array(r["ll"])
for key in sorted(g):
    v=np.array(list(g[key].values())); 
    unif=g.get((key[0],key[1],"epinet:uniform"),{})
    common=[s for s in g[key] if s in unif]
    d=np.array([g[key][s]-unif[s] for s in common]) if common else None
    ds = "" if d is None or len(d)<2 else " d_unif="+" ".join(f"{m:+.3f}±{e:.3f}" for m,e in zip(d.mean(0), d.std(0,ddof=1)/np.sqrt(len(d))))
    print(key, len(v), " ".join(f"{m:.3f}" for m in v.mean(0)), ds)

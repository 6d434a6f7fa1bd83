import json
import sys

from joblib import Parallel, delayed

sys.path.insert(0, __import__("os").path.dirname(__file__))
import probe


def one(cfg):
    import torch

    torch.set_num_threads(1)
    ll, t = probe.run(cfg["agent"], cfg["seed"], cfg["T"], cfg["loop"], cfg["params"], cfg.get("n_pool", 10000))
    return {**cfg, "ll": ll, "time": round(t, 1)}
cfgs = [json.loads(l) for l in open(sys.argv[1])]
out = open(sys.argv[2], "a")
for r in Parallel(n_jobs=2, return_as="generator")(delayed(one)(c) for c in cfgs):
    out.write(json.dumps(r) + "\n"); out.flush()

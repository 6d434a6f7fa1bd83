import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)
from skepinet.benchmarks.testbed import (
    make_agent_estimator,
    make_problem,
    redraw_oracle,
)
from skepinet.learner import ActiveLearner
from skepinet.metrics import evaluate_enn
from skepinet.strategies import STRATEGIES

cfg=json.loads(sys.argv[1])
seed=cfg.get("seed",100); T=cfg.get("T",0.03)
prob=make_problem(seed, temperature=T, n_pool=200, n_test=3000, noisy_fraction=cfg.get("nf",0.0))
params=dict(lr=1e-3,batch_size=128,prior_precision=10.0); params.update(cfg.get("params",{}))
est=make_agent_estimator("epinet", seed, params)
l=ActiveLearner(est, STRATEGIES[cfg.get("strategy","variance")], random_state=seed)
loop=dict(candidate_size=200, acquisition_size=5, recipe="replay", steps_per_label=1.0, requery=True); loop.update(cfg.get("loop",{}))
orc=redraw_oracle(prob["proba_pool"], seed)
out=[]
for b in [200,500,1000,2000]:
    l.run(prob["X_pool"], orc, budget=b, classes=[0,1], progress=False, **loop)
    r=evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100, random_state=seed)
    cnt=np.bincount(l.run_state_["labelled"], minlength=200)
    p=prob["proba_pool"][:,1]; ent=-(p*np.log(p+1e-12)+(1-p)*np.log(1-p+1e-12))
    top=np.argsort(-cnt)[:20]
    out.append(dict(b=b, ll=round(r["log_loss"],4), distinct=int((cnt>0).sum()), maxc=int(cnt.max()), top20_share=round(cnt[top].sum()/b,2), top20_trueent=round(float(ent[top].mean()),3), mean_ent=round(float(ent.mean()),3)))
print(json.dumps(cfg), json.dumps(out))

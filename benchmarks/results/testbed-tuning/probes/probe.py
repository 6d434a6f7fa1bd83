import json
import sys
import time

import torch

torch.set_num_threads(1)
from skepinet.benchmarks.testbed import AGENTS, make_agent_estimator, make_problem
from skepinet.learner import ActiveLearner
from skepinet.metrics import evaluate_enn
from skepinet.strategies import STRATEGIES


def run(agent, seed, T, loop, params, n_pool=10000, labels=(100,250,500,1000)):
    prob = make_problem(seed, temperature=T, n_pool=n_pool, n_test=5000)
    est = make_agent_estimator(AGENTS[agent][0], seed, params)
    l = ActiveLearner(est, STRATEGIES[AGENTS[agent][1]], random_state=seed)
    out=[]
    t=time.time()
    for b in labels:
        l.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **loop)
        r = evaluate_enn(est, prob["X_test"], prob["y_test"], prob["proba_test"], n_index=100, random_state=seed)
        out.append(round(r["log_loss"],4))
    return out, time.time()-t

if __name__ == "__main__":
    cfg = json.loads(sys.argv[1])
    res = run(cfg["agent"], cfg["seed"], cfg["T"], cfg["loop"], cfg["params"], cfg.get("n_pool",10000))
    print(json.dumps({**cfg, "ll": res[0], "time": round(res[1],1)}), flush=True)

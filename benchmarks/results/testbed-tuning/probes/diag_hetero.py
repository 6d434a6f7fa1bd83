"""In-loop diagnosis on pool-hetero-T0.1: variance on noisy vs clean pool inputs, and where labels go."""
import numpy as np
import torch
from joblib import Parallel, delayed


def one(seed, strategy):
    torch.set_num_threads(1)
    from skepinet.benchmarks.testbed import (
        LOOP_PARAMS,
        make_agent_estimator,
        make_problem,
    )
    from skepinet.learner import ActiveLearner
    from skepinet.priorities import variance
    from skepinet.strategies import STRATEGIES
    prob = make_problem(seed, temperature=0.1, n_pool=10000, n_test=2000, noisy_fraction=0.5)
    p1 = prob["proba_pool"][:, 1]
    noisy = np.abs(p1 - 0.5) < 0.01            # coin-flip inputs (and a few clean ones near p = 1/2)
    est = make_agent_estimator("epinet", seed, dict(lr=1e-3, batch_size=128, prior_precision=10.0))
    l = ActiveLearner(est, STRATEGIES[strategy], random_state=seed)
    out = []
    for b in (250, 1000):
        l.run(prob["X_pool"], prob["y_pool"], budget=b, progress=False, **LOOP_PARAMS["pool"])
        joint = est.predict_proba_joint(prob["X_pool"], 100)
        v = variance(joint)
        gap = np.log(np.clip(joint[..., 1], 1e-12, None)) - np.log(np.clip(joint[..., 0], 1e-12, None))
        lv = gap.var(axis=0)
        pbar = joint[..., 1].mean(axis=0)
        near = np.abs(pbar - 0.5) < 0.1
        lab = np.asarray(l.run_state_["labelled"]) if isinstance(l.run_state_, dict) else np.asarray(l.run_state_.labelled)
        out.append(dict(b=b, var_noisy=float(v[noisy].mean()), var_clean=float(v[~noisy].mean()),
                        top1pct_noisy=float(noisy[np.argsort(-v)[:100]].mean()),
                        logitvar_noisy=float(lv[noisy].mean()), logitvar_clean=float(lv[~noisy].mean()),
                        var_clean_near_half=float(v[~noisy & near].mean()),
                        logitvar_clean_near_half=float(lv[~noisy & near].mean()),
                        labelled_noisy=float(noisy[lab].mean())))
    return dict(seed=seed, strategy=strategy, noisy_fraction=float(noisy.mean()), curve=out)

rows = Parallel(n_jobs=2)(delayed(one)(s, a) for s in (100, 101, 102, 103) for a in ("uniform",))
for r in rows:
    print(r["seed"], r["strategy"], f"noisy {r['noisy_fraction']:.2f}")
    for c in r["curve"]:
        print("   ", {k: round(v, 4) if isinstance(v, float) else v for k, v in c.items()})

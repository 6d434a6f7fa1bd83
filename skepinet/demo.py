"""The main demo: an epinet knows what it doesn't know, and that saves labels.

Run ``python -m skepinet.demo`` (or ``skepinet-demo``); nothing is
downloaded, and it takes under half a minute on two CPU cores.

1. It fits an :class:`~skepinet.EpinetClassifier` on two labelled clusters
   in the plane and scores points at growing distance from them: epistemic
   uncertainty (the variance of the class probabilities across index
   samples, and BALD) is low near the data and grows away from it, while a
   plain network's is zero everywhere.
2. It runs the paper's Algorithm 1 on its synthetic testbed (a random-MLP
   generative model, ``D = 10``, temperature 0.03) in the pool protocol
   that can show a gain: a pool of 10,000 rows and a budget of 1,000 labels
   (with budget = pool every agent ends on the same rows). An epinet
   choosing labels by ``variance`` is compared with ``uniform`` and
   ``entropy`` choices; it prints test accuracy and log-loss against labels
   used, averaged over seeds, the paired difference to ``uniform`` with its
   standard error, and a learning-curve PNG when matplotlib is installed.
   Training is the reference code's recipe: one SGD step per label, on
   minibatches drawn from a replay of every label so far.
"""

import argparse
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed

from .datasets import make_testbed_classification
from .estimators import BaselineClassifier, EpinetClassifier
from .learner import ActiveLearner
from .metrics import labels_to_match
from .priorities import bald as bald_score, variance as variance_score
from .benchmarks.agents import AGENTS as _REGISTRY, DEMO_AGENTS
from .utils import DEFAULT_N_INDEX

__all__ = ["make_two_clusters", "uncertainty_by_distance", "active_learning_curves", "main"]

# The demo's agents, by name, from the benchmarks' one registry.
AGENTS = {name: _REGISTRY[name].query_strategy for name in DEMO_AGENTS}
# The testbed benchmark's agent and loop settings (skepinet.benchmarks.testbed, pool protocol;
# tuned on seeds 100-103, which the demo does not use).
AGENT_PARAMS = dict(lr=1e-3, prior_precision=10.0, batch_size=128)
LOOP_PARAMS = dict(candidate_size=1000, acquisition_size=10, recipe="replay", steps_per_label=1.0)

DISTANCE_BANDS = (0.0, 0.5, 1.5, 3.0, 5.0, 8.0, np.inf)


def make_two_clusters(n_samples=60, random_state=0):
    """Two Gaussian clusters of labelled points around (-1, 0) and (1, 0).

    Parameters
    ----------
    n_samples : int (default=60)
        Number of points.
    random_state : int or None (default=0)
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
    """
    rng = np.random.default_rng(random_state)
    y = np.arange(n_samples) % 2
    X = rng.normal(scale=0.35, size=(n_samples, 2))
    X[:, 0] += np.where(y == 1, 1.0, -1.0)
    return X, y


def _epistemic_scores(joint):
    """Variance and BALD of a joint prediction, shape (n_index, n, C)."""
    return variance_score(joint), bald_score(joint)


def uncertainty_by_distance(clf, X_train, n_points=4000, n_index=DEFAULT_N_INDEX, random_state=1):
    """Mean epistemic uncertainty of ``clf`` in bands of distance to the training data.

    Parameters
    ----------
    clf : fitted skepinet estimator
        Any estimator with ``predict_proba_joint``.
    X_train : ndarray of shape (n_train, 2)
        The training inputs.
    n_points : int (default=4000)
        Points drawn uniformly in the square [-10, 10]^2.
    n_index : int (default=DEFAULT_N_INDEX)
        Index samples per point.
    random_state : int (default=1)
        Seed of the points.

    Returns
    -------
    rows : list of dict
        One per distance band: ``band``, ``n``, ``variance``, ``bald``.
    """
    rng = np.random.default_rng(random_state)
    points = rng.uniform(-10, 10, size=(n_points, 2))
    distance = np.sqrt(((points[:, None] - X_train[None]) ** 2).sum(-1)).min(axis=1)
    variance, bald = _epistemic_scores(clf.predict_proba_joint(points, n_index=n_index))
    rows = []
    for low, high in zip(DISTANCE_BANDS[:-1], DISTANCE_BANDS[1:]):
        inside = (distance >= low) & (distance < high)
        if inside.any():
            rows.append({
                "band": f"{low:g}-{high:g}" if np.isfinite(high) else f">{low:g}",
                "n": int(inside.sum()),
                "variance": float(variance[inside].mean()),
                "bald": float(bald[inside].mean()),
            })
    return rows


def _plot_uncertainty_map(clf, X, y, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-6, 6, 121)
    xx, yy = np.meshgrid(grid, grid)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    variance, _ = _epistemic_scores(clf.predict_proba_joint(points, n_index=DEFAULT_N_INDEX))
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    image = ax.contourf(xx, yy, variance.reshape(xx.shape), levels=20, cmap="viridis")
    fig.colorbar(image, ax=ax, label="epistemic variance of p(y|x)")
    ax.scatter(*X[y == 0].T, c="white", edgecolors="k", s=18, label="class 0")
    ax.scatter(*X[y == 1].T, c="tab:red", edgecolors="k", s=18, label="class 1")
    ax.set_title("EpinetClassifier: uncertainty grows away from the data")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _run_agent(name, seed, n_pool, budget, temperature, n_test):
    X, y = make_testbed_classification(n_pool + n_test, temperature=temperature,
                                       random_state=seed)
    learner = ActiveLearner(EpinetClassifier(random_state=seed, **AGENT_PARAMS), AGENTS[name],
                            random_state=seed)
    loop = dict(LOOP_PARAMS, candidate_size=min(LOOP_PARAMS["candidate_size"], n_pool))
    history = learner.run(X[:n_pool], y[:n_pool], budget=budget, X_eval=X[n_pool:],
                          y_eval=y[n_pool:], eval_every=max(1, budget // 100), progress=False,
                          **loop)
    return name, seed, history


def active_learning_curves(n_seeds=3, n_pool=10_000, budget=1000, temperature=0.03, n_jobs=2,
                           n_test=2000):
    """Run the demo's agents through Algorithm 1 on the synthetic testbed.

    Parameters
    ----------
    n_seeds : int (default=3)
        Seeds per agent; each seed is a new generating network.
    n_pool : int (default=10000)
        Unlabelled pool size; much larger than the budget, so that choosing
        can matter.
    budget : int (default=1000)
        Labels per run.
    temperature : float (default=0.03)
        Label noise of the testbed.
    n_jobs : int (default=2)
        Parallel runs (joblib).
    n_test : int (default=2000)
        Test rows (fresh draws of the same problem).

    Returns
    -------
    curves : dict
        Agent name -> list of :class:`~skepinet.History`, one per seed (seed
        order), evaluated about every 1% of the budget and at the end.
    """
    runs = Parallel(n_jobs=n_jobs)(
        delayed(_run_agent)(name, seed, n_pool, budget, temperature, n_test)
        for seed in range(n_seeds) for name in AGENTS
    )
    curves = {name: [] for name in AGENTS}
    for name, seed, history in runs:
        curves[name].append(history)
    return curves


def _at(history, labels, metric):
    return next(r[metric] for r in history if r["labels"] >= labels and metric in r)


def _mean_at(histories, labels, metric):
    return np.mean([_at(h, labels, metric) for h in histories])


def paired_difference(curves, agent, other, labels, metric="log_loss"):
    """Mean and standard error over seeds of ``agent`` minus ``other`` at ``labels``."""
    diffs = [_at(a, labels, metric) - _at(b, labels, metric)
             for a, b in zip(curves[agent], curves[other])]
    se = np.std(diffs, ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
    return float(np.mean(diffs)), float(se)


def labels_to_reach(histories, target, metric="log_loss"):
    """Labels at which the seed-mean curve first reaches ``target`` (lower is better), or None."""
    labels = sorted({r["labels"] for r in histories[0] if metric in r})
    n = labels_to_match(labels, [_mean_at(histories, n, metric) for n in labels], target,
                        greater_is_better=False)
    return None if np.isinf(n) else int(n)


def _print_table(curves, checkpoints, budget):
    print(f"{'agent':<16}" + "".join(f"{f'{n} labels':>18}" for n in checkpoints))
    print(f"{'':<16}" + "".join(f"{'acc   log-loss':>18}" for _ in checkpoints))
    for name in AGENTS:
        cells = [f"{_mean_at(curves[name], n, 'accuracy'):.3f}  {_mean_at(curves[name], n, 'log_loss'):.3f}"
                 for n in checkpoints]
        print(f"{name:<16}" + "".join(f"{c:>18}" for c in cells))
    target = _mean_at(curves["epinet:uniform"], budget, "log_loss")
    for name in ("epinet:variance", "epinet:entropy"):
        mean, se = paired_difference(curves, name, "epinet:uniform", budget)
        reach = labels_to_reach(curves[name], target)
        reach = (f"reaches uniform's {budget}-label log-loss at {reach} labels"
                 if reach is not None else
                 f"does not reach uniform's {budget}-label log-loss within the budget")
        print(f"{name} minus uniform at {budget} labels: log-loss {mean:+.4f} ± {se:.4f} "
              f"(paired over seeds); {reach}")


def _plot_learning_curves(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ("log_loss", "accuracy")):
        for name in AGENTS:
            labels = [r["labels"] for r in curves[name][0] if metric in r]
            values = np.array([[r[metric] for r in h if metric in r] for h in curves[name]])
            mean, err = values.mean(0), values.std(0) / np.sqrt(len(values))
            ax.plot(labels, mean, label=name)
            ax.fill_between(labels, mean - err, mean + err, alpha=0.2)
        ax.set_xlabel("labels used")
        ax.set_ylabel(f"test {metric.replace('_', '-')}")
    axes[0].legend(fontsize=8)
    n_seeds = len(curves["epinet:uniform"])
    fig.suptitle(f"Active learning on the synthetic testbed (mean ± s.e. over {n_seeds} seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    """Run the demo from the command line.

    Parameters
    ----------
    argv : list of str or None (default=None)
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    result : dict
        ``'uncertainty'``: the epinet's uncertainty by distance band;
        ``'curves'``: the active-learning histories (see
        :func:`active_learning_curves`).
    """
    parser = argparse.ArgumentParser(prog="skepinet-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per agent (default 3)")
    parser.add_argument("--pool", type=int, default=10_000,
                        help="unlabelled pool size (default 10000)")
    parser.add_argument("--budget", type=int, default=1000, help="labels per run (default 1000)")
    parser.add_argument("--temperature", type=float, default=0.03,
                        help="label noise (default 0.03)")
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel runs (default 2)")
    parser.add_argument("--plot", metavar="PNG", default="skepinet_learning_curve.png",
                        help="learning-curve PNG (default skepinet_learning_curve.png; '' for none)")
    parser.add_argument("--uncertainty-map", metavar="PNG", help="also save an uncertainty map")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    # Networks this small run fastest on one thread, and several threads
    # spin-waiting on a busy 2-core machine make them many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_demo(args, start)
    finally:
        torch.set_num_threads(threads)


def _run_demo(args, start):

    X, y = make_two_clusters(60, random_state=0)
    epinet = EpinetClassifier(max_epochs=300, random_state=0).fit(X, y)
    baseline = BaselineClassifier(max_epochs=300, random_state=0).fit(X, y)
    rows = uncertainty_by_distance(epinet, X)
    flat = {row["band"]: row for row in uncertainty_by_distance(baseline, X)}
    print("1. Epistemic uncertainty by distance to the nearest of 60 training points")
    print(f"{'distance':>10} {'points':>7} {'epinet var':>11} {'epinet BALD':>12} {'baseline var':>13}")
    for row in rows:
        print(f"{row['band']:>10} {row['n']:>7} {row['variance']:>11.4f} {row['bald']:>12.4f} "
              f"{flat[row['band']]['variance']:>13.4f}")
    ratio = rows[-1]["variance"] / max(rows[0]["variance"], 1e-12)
    print(f"Far points are {ratio:.0f}x more uncertain than points in the training clusters.")
    if args.uncertainty_map:
        _plot_uncertainty_map(epinet, X, y, args.uncertainty_map)
        print(f"Uncertainty map written to {args.uncertainty_map}")

    if args.budget > args.pool:
        raise SystemExit(f"skepinet-demo: --budget {args.budget} exceeds --pool {args.pool}.")
    print(f"\n2. Active learning (Algorithm 1) on the synthetic testbed: pool {args.pool}, "
          f"budget {args.budget}, temperature {args.temperature}, {args.seeds} seeds, "
          f"{LOOP_PARAMS['acquisition_size']} labels per step from "
          f"{min(LOOP_PARAMS['candidate_size'], args.pool)} candidates")
    curves = active_learning_curves(args.seeds, args.pool, args.budget, args.temperature,
                                    args.n_jobs)
    checkpoints = sorted({max(10, args.budget // 4 // 10 * 10), args.budget // 2, args.budget})
    _print_table(curves, checkpoints, args.budget)
    if args.plot:
        try:
            _plot_learning_curves(curves, args.plot)
            print(f"Learning curves written to {args.plot}")
        except ImportError:
            print("(matplotlib is not installed: pip install 'skepinet[plot]' for the plot)")
    print(f"({time.perf_counter() - start:.0f} s)")
    return {"uncertainty": rows, "curves": curves}


if __name__ == "__main__":
    main(sys.argv[1:])

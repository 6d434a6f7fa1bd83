"""Label efficiency on the paper's synthetic testbed (Osband et al. §3).

Each seed draws a new generating network (a random ``D -> 50 -> 50 -> 2``
ReLU MLP, logits divided by a temperature), a pool of unlabelled inputs and
a test set. Each *agent* (a skepinet estimator and a query strategy) labels
the pool online with :meth:`skepinet.ActiveLearner.run` (Algorithm 1) and is
evaluated on the test set as labels accrue. The *baseline* is trained by
plain supervised learning on random fractions of the pool, its
hyperparameters picked by :class:`~sklearn.model_selection.GridSearchCV`
on the test set itself (best in hindsight): an upper bound for any learner
that does not choose its data.
"""

import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import GradientNormClipping

from ..callbacks import PriorWeightDecay
from ..datasets import make_testbed_classification
from ..estimators import ESTIMATORS
from ..learner import ActiveLearner
from ..metrics import evaluate_enn
from ..strategies import STRATEGIES
from ._sweep import estimator_settings, run_units
from .report import (aggregate, epistemic_checks, headline, plot_curves, plot_headline,
                     write_summary)
from .report import format_summary as _format_summary

__all__ = [
    "AGENTS",
    "AGENT_PARAMS",
    "LOOP_PARAMS",
    "PRIOR_PRECISION",
    "agent_params_for",
    "BASELINE_GRID",
    "make_problem",
    "label_grid",
    "make_agent_estimator",
    "run_agent",
    "run_baseline",
    "run_testbed",
]

# agent name -> (estimator in skepinet.estimators.ESTIMATORS, strategy in STRATEGIES)
AGENTS = {
    "epinet:variance": ("epinet", "variance"),
    "epinet:bald": ("epinet", "bald"),
    "epinet:entropy": ("epinet", "entropy"),
    "epinet:margin": ("epinet", "margin"),
    "epinet:uniform": ("epinet", "uniform"),
    "mlp:entropy": ("baseline", "entropy"),
    "mlp:margin": ("baseline", "margin"),
    "dropout:variance": ("dropout", "variance"),
    "ensemble:variance": ("ensemble", "variance"),
}

# Estimator and loop settings shared by every agent. Tuned on seeds 100-102 (never published):
# weight decay as a fixed prior (PriorWeightDecay) beat a constant weight decay, which overfits
# the first labels at temperature 0.5; its precision is set per noise level (see
# agent_params_for). Candidates: the whole unlabelled pool (candidate_size=None).
AGENT_PARAMS = dict(lr=1e-3, batch_size=128, prior_precision=10.0)
LOOP_PARAMS = dict(candidate_size=None, acquisition_size=10, n_steps=5, replay=None)
# Prior precision tuned per temperature on seeds 100-102: noisier labels need a stronger prior.
PRIOR_PRECISION = {0.1: 10.0, 0.5: 30.0}


def agent_params_for(temperature):
    """The agents' tuned estimator settings at a label-noise temperature.

    The prior precision of the tuned temperature nearest on a log scale is
    used.
    """
    nearest = min(PRIOR_PRECISION, key=lambda t: abs(np.log(t) - np.log(temperature)))
    return dict(AGENT_PARAMS, prior_precision=PRIOR_PRECISION[nearest])

# The baseline's sweep, per data fraction (GridSearchCV over these grids): 30 settings. Small
# batches get fewer epochs, as they take 4x more steps per epoch.
BASELINE_GRID = [
    {"lr": [1e-3, 3e-3], "weight_decay": [1e-3, 1e-2, 1e-1], "batch_size": [32],
     "max_epochs": [30, 100]},
    {"lr": [1e-3, 3e-3], "weight_decay": [1e-3, 1e-2, 1e-1], "batch_size": [128],
     "max_epochs": [30, 100, 300]},
]


def make_problem(seed, *, temperature=0.1, input_dim=10, n_pool=1000, n_test=5000,
                 min_class_fraction=0.1):
    """One testbed problem: pool, test set and true test probabilities.

    A random MLP with a large output bias can give almost every input the
    same label (seed 6 at temperature 0.1 labels 999 of 1,000 pool rows
    alike), which leaves nothing to learn; such a problem is redrawn, from
    seeds ``seed + 10000``, ``seed + 20000``, ... until each class holds at
    least ``min_class_fraction`` of the pool.

    Parameters
    ----------
    seed : int
        Seeds the generating network and the data.
    temperature : float (default=0.1)
        Label noise: logits are divided by it.
    input_dim : int (default=10)
        Input dimension ``D``.
    n_pool, n_test : int (default=1000, 5000)
        Unlabelled pool and test set sizes.
    min_class_fraction : float (default=0.1)
        Redraw problems whose pool has a rarer class than this.

    Returns
    -------
    problem : dict
        ``X_pool``, ``y_pool``, ``X_test``, ``y_test``, ``proba_test``, and
        ``seed`` (the generator seed actually used).
    """
    for attempt in range(100):
        used = seed + 10_000 * attempt
        X, y, proba = make_testbed_classification(
            n_pool + n_test, input_dim=input_dim, temperature=temperature, random_state=used,
            return_proba=True,
        )
        counts = np.bincount(y[:n_pool], minlength=proba.shape[1])
        if counts.min() >= min_class_fraction * n_pool:
            break
    else:
        raise ValueError(
            f"no problem with every class at least {min_class_fraction:.0%} of the pool in 100 "
            f"draws from seed {seed}; lower min_class_fraction."
        )
    return {"X_pool": X[:n_pool], "y_pool": y[:n_pool], "X_test": X[n_pool:],
            "y_test": y[n_pool:], "proba_test": proba[n_pool:], "seed": used}


def label_grid(n_pool, n_points=20, first=10):
    """Label counts at which learning curves are evaluated: ``first``, then evenly to the pool."""
    points = np.linspace(0, n_pool, n_points + 1)[1:].round().astype(int)
    return sorted({first, *points.tolist()} - {0})


def run_agent(agent, seed, problem, *, labels, agent_params=None, loop_params=None,
              n_index=100):
    """Run one agent through Algorithm 1 and evaluate it at each label count.

    Parameters
    ----------
    agent : str
        A key of :data:`AGENTS`, e.g. ``'epinet:variance'``.
    seed : int
        Seeds the estimator and the learner.
    problem : dict
        ``X_pool``, ``y_pool``, ``X_test``, ``y_test`` and optionally
        ``proba_test`` (the true test probabilities, for the joint
        log-loss), as from :func:`make_problem`.
    labels : list of int
        Label counts at which to evaluate (increasing).
    agent_params, loop_params : dict or None
        Override :data:`AGENT_PARAMS` and :data:`LOOP_PARAMS`.
    n_index : int (default=100)
        Index samples for scoring and for the joint log-loss.

    Returns
    -------
    curve : list of dict
        One record per label count: ``labels``, ``accuracy``, ``log_loss``,
        ``joint_log_loss``, ``wall_time``.
    """
    estimator_name, strategy_name = AGENTS[agent]
    params = {**AGENT_PARAMS, **(agent_params or {})}
    loop = {**LOOP_PARAMS, **(loop_params or {})}
    n_pool = len(problem["X_pool"])
    if loop["candidate_size"] is None:  # score the whole unlabelled pool
        loop["candidate_size"] = n_pool
    estimator = make_agent_estimator(estimator_name, seed, params)
    learner = ActiveLearner(estimator, STRATEGIES[strategy_name], random_state=seed)
    curve = []
    for budget in labels:
        history = learner.run(problem["X_pool"], problem["y_pool"], budget=budget,
                              n_index=n_index, progress=False, **loop)
        record = {"labels": int(budget), "wall_time": history[-1]["wall_time"]}
        record.update(evaluate_enn(estimator, problem["X_test"], problem["y_test"],
                                   problem.get("proba_test"), n_index=n_index,
                                   random_state=seed))
        curve.append(record)
    return curve


def make_agent_estimator(estimator_name, seed, params):
    """An estimator of ``ESTIMATORS[estimator_name]`` from shared agent settings.

    Settings the estimator does not take (e.g. ``prior_scale`` for a
    dropout network) are left out, so one dict can configure every agent;
    ``prior_precision`` becomes a :class:`~skepinet.callbacks.PriorWeightDecay`
    callback (weight decay ``prior_precision / n_labelled``), and
    ``gradient_clip`` a :class:`skorch.callbacks.GradientNormClipping`.
    """
    cls = ESTIMATORS[estimator_name]
    params = dict(params)
    callbacks = []
    precision = params.pop("prior_precision", None)
    if precision is not None:
        callbacks.append(("prior_weight_decay", PriorWeightDecay(precision)))
    clip = params.pop("gradient_clip", None)
    if clip is not None:
        callbacks.append(("gradient_clip", GradientNormClipping(clip)))
    accepted = set(cls().get_params(deep=False))
    params = {k: v for k, v in params.items() if k in accepted or "__" in k}
    if callbacks:
        params["callbacks"] = callbacks
    return cls(random_state=seed, **params)


def _fraction_rows(seed, n_pool, n_labels):
    return np.random.default_rng([seed, n_labels]).permutation(n_pool)[:n_labels]


def run_baseline(seed, problem, *, labels, grid=None, estimator_params=None, n_jobs=None):
    """The tuned supervised baseline on random subsets of the pool.

    For each label count, a random subset of the pool of that size is the
    training set, and :class:`~sklearn.model_selection.GridSearchCV` fits a
    :class:`~skepinet.BaselineClassifier` for every setting in ``grid``,
    scoring each on the test set (one predefined split: best in hindsight).

    Parameters
    ----------
    seed : int
        Seeds the subsets and the networks.
    problem : dict
        From :func:`make_problem`.
    labels : list of int
        Subset sizes.
    grid : dict or None (default=None)
        Parameter grid; :data:`BASELINE_GRID` when ``None``.
    estimator_params : dict or None (default=None)
        Fixed settings of the baseline estimator (e.g. a text backbone), as
        for :func:`make_agent_estimator`.
    n_jobs : int or None (default=None)
        Passed to ``GridSearchCV``.

    Returns
    -------
    records : list of dict
        One per (label count, setting): ``labels``, ``params``,
        ``accuracy``, ``log_loss``.
    """
    grid = BASELINE_GRID if grid is None else grid
    X_pool, y_pool = problem["X_pool"], problem["y_pool"]
    X_test, y_test = problem["X_test"], problem["y_test"]
    n_pool = len(X_pool)
    X = np.concatenate([X_pool, X_test])
    y = np.concatenate([y_pool, y_test])
    test_rows = np.arange(n_pool, len(X))
    records = []
    for n_labels in labels:
        train_rows = _fraction_rows(seed, n_pool, n_labels)
        search = GridSearchCV(
            make_agent_estimator("baseline", seed, estimator_params or {}), grid,
            cv=[(train_rows, test_rows)],
            scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"}, refit=False,
            n_jobs=n_jobs, error_score="raise",
        )
        search.fit(X, y)
        results = search.cv_results_
        for i, params in enumerate(results["params"]):
            records.append({
                "labels": int(n_labels),
                "params": params,
                "log_loss": float(-results["split0_test_log_loss"][i]),
                "accuracy": float(results["split0_test_accuracy"][i]),
            })
    return records


QUICK = dict(n_pool=120, n_test=400, n_points=4, seeds=[0, 1],
             loop_params={"n_steps": 1, "acquisition_size": 20},
             grid={"lr": [1e-3], "weight_decay": [1e-2], "batch_size": [32], "max_epochs": [3, 10]})
METRICS = ["accuracy", "log_loss", "joint_log_loss"]


def _task_name(temperature):
    return f"testbed-T{temperature:g}"


def baseline_labels(n_pool, fractions):
    """Label counts of the baseline's subsets, one per fraction of the pool."""
    return sorted({max(1, int(round(f * n_pool))) for f in fractions})


def testbed_units(*, seeds, temperatures, agents, n_pool, n_test, input_dim, n_points,
                  fractions, agent_params, loop_params, grid, n_index):
    """The (task, agent, seed, settings, func) units of a testbed sweep."""
    units = []
    for temperature in temperatures:
        task = _task_name(temperature)
        problem_settings = dict(temperature=temperature, input_dim=input_dim, n_pool=n_pool,
                                n_test=n_test)
        labels = label_grid(n_pool, n_points)
        for seed in seeds:
            settings = dict(problem_settings, seed=seed, labels=baseline_labels(n_pool, fractions),
                            grid=grid, estimator=estimator_settings(ESTIMATORS["baseline"]()))
            units.append((task, "baseline", seed, settings,
                          _BaselineUnit(seed, problem_settings, settings["labels"], grid)))
            for agent in agents:
                params = {**agent_params_for(temperature), **agent_params}
                loop = {**LOOP_PARAMS, **loop_params}
                settings = dict(problem_settings, seed=seed, labels=labels, agent=agent,
                                agent_params=params, loop_params=loop, n_index=n_index,
                                estimator=estimator_settings(
                                    make_agent_estimator(AGENTS[agent][0], 0, params)))
                units.append((task, agent, seed, settings,
                              _AgentUnit(agent, seed, problem_settings, labels, params, loop,
                                         n_index)))
    return units


class _AgentUnit:
    """A picklable call of :func:`run_agent` (joblib ships it to a worker)."""

    def __init__(self, agent, seed, problem_settings, labels, params, loop, n_index):
        self.args = (agent, seed, problem_settings, labels, params, loop, n_index)

    def __call__(self):
        agent, seed, problem_settings, labels, params, loop, n_index = self.args
        problem = make_problem(seed, **problem_settings)
        return run_agent(agent, seed, problem, labels=labels, agent_params=params,
                         loop_params=loop, n_index=n_index)


class _BaselineUnit:
    def __init__(self, seed, problem_settings, labels, grid):
        self.args = (seed, problem_settings, labels, grid)

    def __call__(self):
        seed, problem_settings, labels, grid = self.args
        return run_baseline(seed, make_problem(seed, **problem_settings), labels=labels, grid=grid)


def summarize_testbed(results, *, temperatures, agents, n_pool):
    """Mean curves, tuned baseline, headline ratios (test log-loss) and the target checks."""
    curves, baselines = aggregate(results, [_task_name(t) for t in temperatures], agents,
                                  METRICS, "log_loss", greater_is_better=False,
                                  baseline_metrics=["accuracy", "log_loss"])
    table = headline(curves, baselines, {t: n_pool for t in curves}, "log_loss",
                     greater_is_better=False)
    checks = epistemic_checks(curves, {t: n_pool for t in curves}, "log_loss",
                              greater_is_better=False)
    return {"curves": curves, "baselines": baselines, "headline": table,
            "not_better_at": checks}


def run_testbed(out, *, seeds=range(10), temperatures=(0.1, 0.5), agents=None, n_pool=1000,
                n_test=5000, input_dim=10, n_points=20, fractions=(0.1, 0.25, 0.5, 1.0),
                agent_params=None, loop_params=None, grid=None, n_index=100, n_jobs=1,
                backend=None, progress=True):
    """Run (or resume) the testbed sweep and write its results under ``out``.

    Every (temperature, agent, seed) run is saved under ``out/units`` as it
    finishes and reused by later calls with the same settings. Writes
    ``summary.json``, ``headline.csv``, ``curves.csv`` and, with
    matplotlib, ``curves_T*.png``, ``joint_T*.png`` and ``headline.png``.

    Parameters
    ----------
    out : path
        Results folder.
    seeds : iterable of int (default=range(10))
        Problem seeds (each a new generating network).
    temperatures : tuple of float (default=(0.1, 0.5))
        Label-noise levels.
    agents : list of str or None (default=None)
        Keys of :data:`AGENTS`; all when ``None``.
    n_pool, n_test, input_dim : int (default=1000, 5000, 10)
        Problem sizes.
    n_points : int (default=20)
        Evaluation points along each learning curve.
    fractions : tuple of float
        Pool fractions the baseline is trained on.
    agent_params, loop_params, grid : dict or None
        Overrides of :data:`AGENT_PARAMS`, :data:`LOOP_PARAMS`, and the
        baseline grid (:data:`BASELINE_GRID`).
    n_index : int (default=100)
        Index samples for scoring and the joint log-loss.
    n_jobs : int (default=1)
        joblib workers across runs.
    backend : str or None (default=None)
        joblib backend.
    progress : bool (default=True)
        Show a progress bar.

    Returns
    -------
    summary : dict
        Settings, mean curves, baseline curves, the headline table and the
        target checks (also written to ``summary.json``).
    """
    agents = list(AGENTS) if agents is None else list(agents)
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown:
        raise ValueError(f"unknown agents {unknown}; choose from {sorted(AGENTS)}.")
    seeds, temperatures = [int(s) for s in seeds], [float(t) for t in temperatures]
    settings = dict(seeds=seeds, temperatures=temperatures, agents=agents, n_pool=n_pool,
                    n_test=n_test, input_dim=input_dim, n_points=n_points,
                    fractions=list(fractions),
                    agent_params={t: {**agent_params_for(t), **(agent_params or {})}
                                  for t in temperatures},
                    loop_params={**LOOP_PARAMS, **(loop_params or {})},
                    grid=BASELINE_GRID if grid is None else grid, n_index=n_index)
    units = testbed_units(seeds=seeds, temperatures=temperatures, agents=agents, n_pool=n_pool,
                          n_test=n_test, input_dim=input_dim, n_points=n_points,
                          fractions=fractions, agent_params=agent_params or {},
                          loop_params=loop_params or {}, grid=settings["grid"], n_index=n_index)
    start = time.perf_counter()
    results = run_units(units, out, n_jobs=n_jobs, backend=backend, progress=progress,
                        desc="testbed runs")
    summary = {"settings": settings, "wall_time_s": time.perf_counter() - start,
               **summarize_testbed(results, temperatures=temperatures, agents=agents,
                                   n_pool=n_pool)}
    write_testbed_outputs(out, summary)
    return summary


def write_testbed_outputs(out, summary):
    """Write the summary JSON, CSV tables and plots of a testbed sweep."""
    out = Path(out)
    write_summary(out, summary)
    n_pool = summary["settings"]["n_pool"]
    for task, agents in summary["curves"].items():
        suffix = task.replace("testbed-", "")
        plot_curves(out / f"curves_{suffix}.png",
                    f"Testbed, temperature {suffix[1:]}: test log-loss",
                    agents, summary["baselines"][task], "log_loss", ylabel="test log-loss",
                    n_pool=n_pool)
        plot_curves(out / f"joint_{suffix}.png",
                    f"Testbed, temperature {suffix[1:]}: dyadic joint log-loss (tau=10)",
                    agents, None, "joint_log_loss", ylabel="joint log-loss", n_pool=n_pool)
    plot_headline(out / "headline.png", summary["headline"],
                  "Testbed: labels to match the tuned baseline")


def format_summary(summary):
    """The testbed's headline table and checks as text."""
    return _format_summary(summary, ["log_loss", "accuracy"])

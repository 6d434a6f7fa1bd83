"""Label efficiency on the paper's synthetic testbed (Osband et al. §3).

Each seed draws a new generating network (a random ``D -> 50 -> 50 -> 2``
ReLU MLP, logits divided by a temperature), a pool of unlabelled inputs and
a test set. Each *agent* (a skepinet estimator and a query strategy) labels
the pool online with :meth:`skepinet.ActiveLearner.run` (Algorithm 1) and is
evaluated on the test set as labels accrue. The *baseline* is trained by
plain supervised learning on random fractions of the budget, its
hyperparameters picked by :class:`~sklearn.model_selection.GridSearchCV`
on the test set itself (best in hindsight): an upper bound for any learner
that does not choose its data.

Two protocols (:data:`PROTOCOLS`) and two problems (:data:`PROBLEMS`):

- ``pool``: a large pool (10,000 rows) and a smaller budget (1,000 labels);
  each row is labelled once. With budget = pool every agent ends on the
  same rows, so only a pool much larger than the budget can show a gain.
- ``requery``: the reference code's bandit protocol (neural_testbed's
  active-learning experiment): a fixed set of ``20 * D`` inputs whose labels
  are redrawn each time one is chosen; inputs stay choosable.
- ``standard``: the paper's random-MLP problem.
- ``heteroscedastic``: half the inputs get coin-flip labels (see
  :func:`~skepinet.datasets.make_testbed_classification`'s
  ``noisy_fraction``), the case where marginal priorities chase noise.
"""

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import GradientNormClipping

from ..callbacks import PriorWeightDecay
from ..datasets import draw_labels
from ..estimators import ESTIMATORS
from ..learner import ActiveLearner
from ..metrics import evaluate_enn
from ..utils import DEFAULT_N_INDEX
from ._sweep import code_versions, estimator_settings, run_units
from .agents import AGENTS, LOOP_AGENTS
from .common import (
    budget_label_counts,
    name_list,
    option,
    parse_float_list,
    parse_int_list,
    parse_json,
    parse_names,
)
from .final_fit import (
    final_fit_labels,
    final_fit_scores,
    final_fit_summary,
    format_final_fit_table,
    write_final_fit_csv,
)
from .plots import plot_curves, plot_headline, plot_savings
from .problems import make_problem, redraw_oracle
from .report import (
    aggregate,
    epistemic_checks,
    format_protocol_table,
    headline,
    protocol_table,
    write_protocol_csv,
    write_summary,
)
from .report import format_summary as _format_summary
from .savings import format_savings, savings_table

__all__ = [
    "AGENT_PARAMS",
    "LOOP_PARAMS",
    "PROTOCOLS",
    "PROBLEMS",
    "SIZES",
    "PRIOR_PRECISION",
    "agent_params_for",
    "BASELINE_GRID",
    "make_problem",
    "label_grid",
    "make_agent_estimator",
    "run_agent",
    "run_baseline",
    "run_testbed",
    "TestbedDefaults",
]

PROTOCOLS = ("pool", "requery")
#: problem name -> the fraction of inputs with coin-flip labels
PROBLEMS = {"standard": 0.0, "heteroscedastic": 0.5}
#: Default sizes per protocol: the requery protocol's inputs are 20 * D (None), as in the
#: reference code.
SIZES = {"pool": dict(n_pool=10_000, budget=1000), "requery": dict(n_pool=None, budget=2000)}

# Estimator settings shared by every agent: weight decay as a fixed prior (PriorWeightDecay),
# its precision set per noise level (agent_params_for). Tuning: benchmarks/results/testbed-tuning.
AGENT_PARAMS = dict(lr=1e-3, batch_size=128, prior_precision=10.0)
# The loop per protocol: the reference code's recipe (SGD steps on minibatches drawn from a
# replay of every label so far), one step per label acquired in the pool protocol and four in
# the requery protocol, where a repeatedly chosen input must be learnt before it stops being
# chosen (tuning record: benchmarks/results/testbed-tuning/README.md).
LOOP_PARAMS = {
    "pool": dict(candidate_size=1000, acquisition_size=10, recipe="replay", steps_per_label=1.0),
    "requery": dict(candidate_size=None, acquisition_size=5, recipe="replay",
                    steps_per_label=4.0, requery=True),
}
# Prior precision per temperature: noisier labels need a stronger prior.
PRIOR_PRECISION = {0.03: 10.0, 0.1: 10.0, 0.5: 30.0}


def agent_params_for(temperature):
    """The agents' tuned estimator settings at a label-noise temperature.

    The prior precision of the tuned temperature nearest on a log scale is
    used.
    """
    nearest = min(PRIOR_PRECISION, key=lambda t: abs(np.log(t) - np.log(temperature)))
    return dict(AGENT_PARAMS, prior_precision=PRIOR_PRECISION[nearest])


def loop_params_for(protocol):
    """The loop settings of a protocol (a copy of :data:`LOOP_PARAMS`)."""
    _check_choice(protocol, PROTOCOLS, "protocol")
    return dict(LOOP_PARAMS[protocol])


def _check_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not known; choose one of {sorted(choices)}.")


# The baseline's sweep, per label count (GridSearchCV): a fixed prior's precision (weight
# decay precision / n) and the training length, 6 settings.
BASELINE_GRID = {"prior_precision": [3.0, 10.0, 30.0], "max_epochs": [30, 100],
                 "lr": [1e-3], "batch_size": [128]}


def label_grid(n_pool, n_points=20, first=10):
    """Label counts at which learning curves are evaluated: ``first``, then evenly to the pool."""
    points = np.linspace(0, n_pool, n_points + 1)[1:].round().astype(int)
    return sorted({first, *points.tolist()} - {0})


def run_agent(agent, seed, problem, *, labels, agent_params=None, loop_params=None,
              n_index=DEFAULT_N_INDEX, final_fit_at=()):
    """Run one agent through Algorithm 1 and evaluate it at each label count.

    Parameters
    ----------
    agent : str
        A name of :data:`~skepinet.benchmarks.agents.LOOP_AGENTS`, e.g. ``'epinet:variance'``.
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
    n_index : int (default=DEFAULT_N_INDEX)
        Index samples for scoring and for the joint log-loss.
    final_fit_at : collection of int (default=())
        Label counts of ``labels`` where a fresh copy of the agent's
        estimator is also fitted on every label so far
        (:mod:`~skepinet.benchmarks.final_fit`).

    Returns
    -------
    curve : list of dict
        One record per label count: ``labels``, ``accuracy``, ``log_loss``,
        ``joint_log_loss``, ``wall_time``, and at ``final_fit_at`` the fresh
        fit's ``final_fit`` (``accuracy``, ``log_loss``).
    """
    estimator_name, strategy = AGENTS[agent].estimator, AGENTS[agent].query_strategy
    params = {**AGENT_PARAMS, **(agent_params or {})}
    loop = {**LOOP_PARAMS["pool"], **(loop_params or {})}
    n_pool = len(problem["X_pool"])
    if loop["candidate_size"] is None:  # score the whole unlabelled pool
        loop["candidate_size"] = n_pool
    oracle, classes = problem["y_pool"], None
    if loop.get("requery"):
        oracle = redraw_oracle(problem["proba_pool"], seed)
        classes = np.arange(problem["proba_pool"].shape[1])
    estimator = make_agent_estimator(estimator_name, seed, params)
    learner = ActiveLearner(estimator, strategy, random_state=seed)
    curve = []
    for budget in labels:
        history = learner.run(problem["X_pool"], oracle, budget=budget, classes=classes,
                              n_index=n_index, progress=False, **loop)
        record = {"labels": int(budget), "wall_time": history[-1]["wall_time"]}
        record.update(evaluate_enn(estimator, problem["X_test"], problem["y_test"],
                                   problem.get("proba_test"), n_index=n_index,
                                   random_state=seed))
        if budget in final_fit_at:
            record["final_fit"] = final_fit_scores(
                partial(make_agent_estimator, estimator_name, seed, params), learner, problem,
                n_index=n_index, random_state=seed)
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


def _training_set(seed, problem, n_labels, requery):
    """The baseline's labelled rows: a random subset of the pool, or (requery) random draws
    of pool inputs with fresh labels."""
    X_pool, y_pool = problem["X_pool"], problem["y_pool"]
    if not requery:
        rows = _fraction_rows(seed, len(X_pool), n_labels)
        return X_pool[rows], y_pool[rows]
    rng = np.random.default_rng([seed, n_labels, 3])
    rows = rng.integers(len(X_pool), size=n_labels)
    return X_pool[rows], draw_labels(problem["proba_pool"][rows], rng)


def run_baseline(seed, problem, *, labels, grid=None, estimator_params=None, n_jobs=None,
                 requery=False):
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
    requery : bool (default=False)
        The requery protocol: train on ``n`` draws of pool inputs (with
        replacement) whose labels are drawn afresh from ``proba_pool``.

    Returns
    -------
    records : list of dict
        One per (label count, setting): ``labels``, ``params``,
        ``accuracy``, ``log_loss``.
    """
    grid = BASELINE_GRID if grid is None else grid
    X_test, y_test = problem["X_test"], problem["y_test"]
    records = []
    for n_labels in labels:
        X_train, y_train = _training_set(seed, problem, n_labels, requery)
        X = np.concatenate([X_train, X_test])
        y = np.concatenate([y_train, y_test])
        train_rows, test_rows = np.arange(len(X_train)), np.arange(len(X_train), len(X))
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


@dataclass(frozen=True)
class TestbedDefaults:
    """Settings of ``skepinet-bench testbed`` and :func:`run_testbed`.

    :meth:`quick` gives the CI run's.
    """

    protocol: tuple = option(("pool",), "comma-separated protocols: pool (each row labelled "
                             "once, pool >> budget), requery (the reference's bandit protocol: "
                             "fixed inputs, labels redrawn)", name_list(PROTOCOLS))
    problem: tuple = option(("standard",), "comma-separated problems: standard, heteroscedastic "
                            "(half the inputs have coin-flip labels)", name_list(PROBLEMS))
    seeds: tuple = option(tuple(range(10)), "problem seeds", parse_int_list)
    temperatures: tuple = option((0.03, 0.1), "label-noise temperatures", parse_float_list)
    agents: tuple = option(None, "comma-separated agents, '' for none (baselines only)",
                           parse_names, shown="all: " + ",".join(LOOP_AGENTS))
    n_pool: int = option(None, "pool size", int, shown=f"{SIZES['pool']['n_pool']} for pool, "
                         "20 x D inputs for requery")
    budget: int = option(None, "labels per run", int, shown=f"{SIZES['pool']['budget']} for "
                         f"pool, {SIZES['requery']['budget']} for requery")
    n_test: int = option(5000, "test set size", int)
    input_dim: int = option(10, "input dimension D", int)
    n_points: int = option(20, "evaluations per curve", int)
    fractions: tuple = option((0.5, 1.0), "budget fractions for the baseline", parse_float_list)
    final_fit: tuple = option((), "budget fractions where each agent's run also fits a fresh "
                              "estimator on its labels (the final model a user keeps); each "
                              "must fall on the curve's points", parse_float_list, shown="none")
    agent_params: dict = option({}, "JSON overrides of the agents' estimator settings",
                                parse_json, merge=True)
    loop_params: dict = option({}, "JSON overrides of ActiveLearner.run settings (added to "
                               "--quick's)", parse_json, merge=True)
    grid: dict = option(None, "JSON baseline grid", parse_json,
                        shown="skepinet.benchmarks.testbed.BASELINE_GRID")
    n_index: int = option(DEFAULT_N_INDEX, "index samples", int)

    @classmethod
    def quick(cls):
        """A CI-sized run: checks the pipeline, not the numbers."""
        return cls(n_pool=150, budget=60, n_test=400, n_points=3, seeds=(0, 1),
                   loop_params={"acquisition_size": 20, "candidate_size": 60},
                   grid={"prior_precision": [3.0], "max_epochs": [3, 10], "batch_size": [32]})


METRICS = ["accuracy", "log_loss", "joint_log_loss"]
REFERENCES = ("epinet:uniform", "epinet:entropy")


def _task_name(protocol, problem, temperature):
    middle = "" if problem == "standard" else "-hetero"
    return f"{protocol}{middle}-T{temperature:g}"


def testbed_tasks(protocols, problems, temperatures, *, input_dim, n_pool=None, budget=None,
                  n_test):
    """``{task: (protocol, problem settings, budget)}`` for each protocol, problem and temperature."""
    tasks = {}
    for protocol in protocols:
        _check_choice(protocol, PROTOCOLS, "protocol")
        size = SIZES[protocol]
        pool = n_pool if n_pool is not None else size["n_pool"] or 20 * input_dim
        spend = budget if budget is not None else size["budget"]
        if protocol == "pool" and spend > pool:
            raise ValueError(f"budget={spend} exceeds the pool of {pool} rows; pass a larger "
                             "--n-pool or a smaller --budget.")
        for problem in problems:
            _check_choice(problem, PROBLEMS, "problem")
            for temperature in temperatures:
                settings = dict(temperature=temperature, input_dim=input_dim, n_pool=pool,
                                n_test=n_test, noisy_fraction=PROBLEMS[problem])
                tasks[_task_name(protocol, problem, temperature)] = (protocol, settings, spend)
    return tasks


def testbed_units(tasks, *, seeds, agents, n_points, fractions, agent_params, loop_params, grid,
                  n_index, final_fit=()):
    """The (task, agent, seed, settings, func) units of a testbed sweep."""
    units = []
    for task, (protocol, problem_settings, budget) in tasks.items():
        loop = {**loop_params_for(protocol), **loop_params}
        labels = label_grid(budget, n_points, first=min(10, budget))
        final_at = final_fit_labels(budget, final_fit, labels, n_points)
        requery = bool(loop.get("requery"))
        baseline_at = budget_label_counts(budget, fractions)
        params = {**agent_params_for(problem_settings["temperature"]), **agent_params}
        for seed in seeds:
            settings = dict(problem_settings, seed=seed, labels=baseline_at, grid=grid,
                            requery=requery,
                            estimator=estimator_settings(ESTIMATORS["baseline"]()))
            units.append((task, "baseline", seed, settings, partial(
                _baseline_unit, seed, problem_settings, baseline_at, grid, requery)))
            for agent in agents:
                settings = dict(problem_settings, seed=seed, labels=labels, agent=agent,
                                agent_params=params, loop_params=loop, n_index=n_index,
                                estimator=estimator_settings(
                                    make_agent_estimator(AGENTS[agent].estimator, 0, params)))
                if final_at:  # absent otherwise: earlier runs keep their keys
                    settings["final_fit_at"] = final_at
                units.append((task, agent, seed, settings,
                              partial(_agent_unit, agent, seed, problem_settings, labels, params,
                                      loop, n_index, final_at)))
    return units


def _agent_unit(agent, seed, problem_settings, labels, params, loop, n_index, final_at=()):
    """:func:`run_agent` on the seed's problem (a sweep unit: problems are drawn in the worker)."""
    problem = make_problem(seed, **problem_settings)
    return run_agent(agent, seed, problem, labels=labels, agent_params=params,
                     loop_params=loop, n_index=n_index, final_fit_at=final_at)


def _baseline_unit(seed, problem_settings, labels, grid, requery):
    """:func:`run_baseline` on the seed's problem (a sweep unit)."""
    return run_baseline(seed, make_problem(seed, **problem_settings), labels=labels,
                        grid=grid, requery=requery)


def summarize_testbed(results, *, budgets, agents):
    """Mean curves, tuned baseline, labels-to-match, paired differences and the checks.

    Parameters
    ----------
    results : dict
        ``{(task, agent, seed): records}``.
    budgets : dict
        ``{task: budget}``.
    agents : list of str
        The agents run.
    """
    curves, baselines = aggregate(results, list(budgets), agents, METRICS, "log_loss",
                                  greater_is_better=False,
                                  baseline_metrics=["accuracy", "log_loss"])
    table = headline(curves, baselines, budgets, "log_loss", greater_is_better=False)
    checks = epistemic_checks(curves, budgets, "log_loss", greater_is_better=False)
    protocols = protocol_table(results, curves, baselines, budgets, "log_loss",
                               greater_is_better=False, references=REFERENCES)
    # Accuracy too: a priority can improve decisions and still lose log-loss far from the
    # boundary (its labels are not a sample of the input distribution).
    accuracy = protocol_table(results, curves, baselines, budgets, "accuracy",
                              greater_is_better=True, references=REFERENCES)
    savings = savings_table(curves, "log_loss", greater_is_better=False, reference=REFERENCES[0])
    return {"curves": curves, "baselines": baselines, "headline": table,
            "protocols": protocols, "protocols_accuracy": accuracy, "savings": savings,
            "not_better_at": checks,
            **final_fit_summary(results, budgets, baselines, reference=REFERENCES[0])}


def run_testbed(out, *, protocols=TestbedDefaults.protocol, problems=TestbedDefaults.problem,
                seeds=TestbedDefaults.seeds, temperatures=TestbedDefaults.temperatures,
                agents=None, n_pool=None, budget=None, n_test=TestbedDefaults.n_test,
                input_dim=TestbedDefaults.input_dim, n_points=TestbedDefaults.n_points,
                fractions=TestbedDefaults.fractions, agent_params=None, loop_params=None,
                grid=None, n_index=TestbedDefaults.n_index, final_fit=TestbedDefaults.final_fit,
                n_jobs=1, backend=None, scheduler=None, progress=True, rerun_stale=False):
    """Run (or resume) the testbed sweep and write its results under ``out``.

    Every (task, agent, seed) run is saved under ``out/units`` as it
    finishes and reused by later calls with the same settings. Writes
    ``summary.json``, ``headline.csv``, ``protocols.csv`` (log-loss),
    ``protocols_accuracy.csv`` (the same comparisons in accuracy),
    ``curves.csv``, ``savings.csv`` and, with matplotlib,
    ``curves_<task>.png``, ``joint_<task>.png`` and ``savings_<task>.png``.
    The defaults are :class:`TestbedDefaults`' (the command line's).

    Parameters
    ----------
    out : path
        Results folder.
    protocols : tuple of str
        Of :data:`PROTOCOLS`: ``'pool'`` (each row labelled once, pool much
        larger than the budget) and ``'requery'`` (the reference code's
        bandit protocol).
    problems : tuple of str
        Of :data:`PROBLEMS`: ``'standard'`` and ``'heteroscedastic'``.
    seeds : iterable of int
        Problem seeds (each a new generating network).
    temperatures : tuple of float
        Label-noise levels.
    agents : list of str or None (default=None)
        Names of :data:`~skepinet.benchmarks.agents.LOOP_AGENTS`; all when ``None``.
    n_pool, budget : int or None (default=None)
        Pool size and label budget; ``None`` takes the protocol's
        :data:`SIZES` (``None`` there: ``20 * input_dim`` inputs).
    n_test, input_dim : int
        Test set size and input dimension.
    n_points : int
        Evaluation points along each learning curve.
    fractions : tuple of float
        Fractions of the budget the baseline is trained on.
    agent_params, loop_params, grid : dict or None
        Overrides of :data:`AGENT_PARAMS`, :data:`LOOP_PARAMS` (of every
        protocol), and the baseline grid (:data:`BASELINE_GRID`).
    n_index : int
        Index samples for scoring and the joint log-loss.
    final_fit : tuple of float
        Fractions of the budget where each agent's run also fits a fresh
        estimator on its labels (:mod:`~skepinet.benchmarks.final_fit`;
        ``final_fit.csv`` and ``final_fit_accuracy.csv``); none by default.
    n_jobs : int (default=1)
        joblib workers across runs.
    backend : str or None (default=None)
        joblib backend.
    scheduler : str or None (default=None)
        Dask scheduler address, with ``backend='dask'``.
    progress : bool (default=True)
        Show a progress bar.
    rerun_stale : bool (default=False)
        Recompute the stored runs that other code computed (see
        :func:`~skepinet.benchmarks._sweep.run_units`); the summary's
        ``code_versions`` counts the runs per code version either way.

    Returns
    -------
    summary : dict
        Settings, mean curves, baseline curves, the headline table, the
        per-protocol table and the target checks (also in ``summary.json``).
    """
    agents = list(LOOP_AGENTS) if agents is None else list(agents)
    unknown = sorted(set(agents) - set(LOOP_AGENTS))
    if unknown:
        raise ValueError(f"unknown agents {unknown}; choose from {sorted(LOOP_AGENTS)}.")
    seeds, temperatures = [int(s) for s in seeds], [float(t) for t in temperatures]
    tasks = testbed_tasks(list(protocols), list(problems), temperatures, input_dim=input_dim,
                          n_pool=n_pool, budget=budget, n_test=n_test)
    grid = BASELINE_GRID if grid is None else grid
    settings = dict(seeds=seeds, temperatures=temperatures, agents=agents,
                    protocols=list(protocols), problems=list(problems),
                    tasks={task: dict(protocol=p, budget=b, **problem)
                           for task, (p, problem, b) in tasks.items()},
                    n_points=n_points, fractions=list(fractions),
                    agent_params={t: {**agent_params_for(t), **(agent_params or {})}
                                  for t in temperatures},
                    loop_params={p: {**loop_params_for(p), **(loop_params or {})}
                                 for p in protocols},
                    grid=grid, n_index=n_index)
    if final_fit:
        settings["final_fit"] = list(final_fit)
    units = testbed_units(tasks, seeds=seeds, agents=agents, n_points=n_points,
                          fractions=fractions, agent_params=agent_params or {},
                          loop_params=loop_params or {}, grid=grid, n_index=n_index,
                          final_fit=tuple(final_fit))
    start = time.perf_counter()
    results = run_units(units, out, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                        progress=progress, desc="testbed runs", rerun_stale=rerun_stale)
    budgets = {task: b for task, (_, _, b) in tasks.items()}
    summary = {"settings": settings, "wall_time_s": time.perf_counter() - start,
               "code_versions": code_versions(out, results),
               **summarize_testbed(results, budgets=budgets, agents=agents)}
    write_testbed_outputs(out, summary)
    return summary


def write_testbed_outputs(out, summary):
    """Write the summary JSON, CSV tables and plots of a testbed sweep."""
    out = Path(out)
    write_summary(out, summary)
    write_protocol_csv(out / "protocols.csv", summary["protocols"])
    write_protocol_csv(out / "protocols_accuracy.csv", summary["protocols_accuracy"])
    for name in ("final_fit", "final_fit_accuracy"):
        if name in summary:
            write_final_fit_csv(out / f"{name}.csv", summary[name])
    for task, agents in summary["curves"].items():
        budget = summary["settings"]["tasks"][task]["budget"]
        plot_curves(out / f"curves_{task}.png", f"Testbed {task}: test log-loss",
                    agents, summary["baselines"][task], "log_loss", ylabel="test log-loss",
                    n_pool=budget)
        plot_curves(out / f"joint_{task}.png",
                    f"Testbed {task}: dyadic joint log-loss (tau=10)",
                    agents, None, "joint_log_loss", ylabel="joint log-loss", n_pool=budget)
    for task, entry in summary["savings"].items():
        plot_savings(out / f"savings_{task}.png",
                     f"Testbed {task}: labels to match {entry['reference']}'s log-loss", entry)
    plot_headline(out / "headline.png", summary["headline"],
                  "Testbed: labels to match the tuned baseline at the budget")


def format_summary(summary):
    """The testbed's per-protocol table, headline and checks as text."""
    parts = [format_protocol_table(summary["protocols"]),
             format_savings(summary.get("savings", {})),
             format_final_fit_table(summary.get("final_fit", {})),
             format_final_fit_table(summary.get("final_fit_accuracy", {})),
             _format_summary(summary, ["log_loss", "accuracy"])]
    return "\n\n".join(part for part in parts if part)

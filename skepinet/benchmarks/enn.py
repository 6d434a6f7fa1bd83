"""ENN quality the Neural Testbed's way: does each agent know what it doesn't know?

Each problem is a testbed classification problem (a random ReLU MLP
``D -> 50 -> 50 -> 2``, logits divided by a temperature ``T``; REFERENCE.md
§4) with ``n_train`` labelled rows. Every agent is trained on them by plain
supervised learning, with the same schedule, and scored against the true
generative model:

- **marginal KL** (``tau = 1``): mean ``KL(p_true || p)`` over test inputs;
- **joint KL** (dyadic, ``tau = 10``): true minus agent joint log-likelihood
  of ``tau`` labels drawn at two anchor inputs, the agent's likelihood a
  log-mean-exp over ``n_index`` index samples;
- both also **normalised by the plain MLP's** KL on the same problem.

A second experiment measures the **far/near epistemic ratio**: train on rows
with ``x[0] < 0`` only, and compare the mean epistemic variance (and BALD)
on unseen rows from that half with rows at ``x[0] > 1``. An agent whose
uncertainty depends on where the data is scores well above 1.

Training FLOPs are counted with :class:`torch.utils.flop_counter.FlopCounterMode`
over one training step, times the number of steps.
"""

import argparse
import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.flop_counter import FlopCounterMode

from ..estimators import ESTIMATORS
from ..metrics import dyadic_kl, marginal_kl, sample_dyads
from ..priorities import bald, variance
from ..utils import DEFAULT_N_INDEX
from ._sweep import code_versions, estimator_settings, run_units
from .common import option, parse_float_list, parse_int_list, parse_json, parse_names
from .plots import pyplot_or_none, save_figure
from .problems import make_problem
from .report import mean_se, write_csv, write_summary_json

__all__ = [
    "AGENTS",
    "AGENT_PARAMS",
    "SCHEDULE",
    "EnnDefaults",
    "parse_variants",
    "agent_estimator",
    "training_schedule",
    "training_flops",
    "enn_quality",
    "far_near_ratio",
    "run_enn",
    "format_summary",
]

#: Agent name -> (estimator in :data:`skepinet.estimators.ESTIMATORS`, settings).
#: ``epinet`` is today's default EpinetClassifier; ``epinet-v0`` keeps the
#: design of skepinet 0.x (prior on the moving base features, an epinet with
#: the index among its inputs, one weight decay for all) for comparison.
AGENTS = {
    "mlp": ("baseline", {}),
    "epinet": ("epinet", {}),
    "dropout": ("dropout", {}),
    "ensemble": ("ensemble", {}),
    "epinet-v0": ("epinet", dict(index_dim=10, epinet_hidden_sizes=(50, 50), prior="epinet",
                                 prior_hidden_sizes=(50, 50), prior_input="features",
                                 index_input=True, epinet_weight_decay=None)),
}

#: Regularisation of every agent in the quality sweep: a fixed Gaussian prior
#: (weight decay ``prior_precision / n_train``) of precision ``D`` (the input
#: dimension), the one rule closest to every agent's best precision at D = 2
#: (about 1) and D = 10 (about 10) on tuning seeds 100-101 (see
#: ``benchmarks/results/enn-tuning``); the far/near experiment uses the
#: estimators' defaults.
AGENT_PARAMS = {agent: {"prior_precision_per_input": 1.0} for agent in AGENTS}

#: The testbed epinet agent's schedule: 1,000 Adam steps of batch 100 (lr 1e-3).
SCHEDULE = dict(n_steps=1000, batch_size=100, lr=1e-3)



def parse_variants(text):
    """``--variants`` (an argparse type): JSON ``{name: [estimator, {settings}]}``.

    Returns ``{name: (estimator, settings)}``, or ``None`` for ``'{}'`` (no variants).
    """
    variants = {name: tuple(value) if isinstance(value, list) else (value,)
                for name, value in parse_json(text).items()}
    bad = [name for name, value in variants.items()
           if len(value) != 2 or not isinstance(value[1], dict)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"must map names to [estimator, {{settings}}], not {bad}.")
    return variants or None


@dataclass(frozen=True)
class EnnDefaults:
    """Settings of ``skepinet-bench enn`` and :func:`run_enn`.

    :meth:`quick` gives the CI run's.
    """

    seeds: tuple = option(tuple(range(10)), "problem seeds of the KL sweep", parse_int_list)
    far_near_seeds: tuple = option(tuple(range(10)), "seeds of the far/near experiment",
                                   parse_int_list)
    input_dims: tuple = option((2, 10), "input dimensions D", parse_int_list)
    temperatures: tuple = option((0.01, 0.1, 0.5), "temperatures T", parse_float_list)
    n_trains: tuple = option((10, 100, 1000), "training rows", parse_int_list)
    agents: tuple = option(None, "comma-separated agents", parse_names,
                           shown="all: " + ",".join(AGENTS))
    agent_params: dict = option(None, 'JSON {agent: settings} over the tuned ones, e.g. '
                                '\'{"epinet": {"prior_scale": 2}}\'', parse_json)
    variants: dict = option(None, 'JSON {name: [estimator, settings]} of extra agents, e.g. '
                            '\'{"epinet-s2": ["epinet", {"prior_scale": 2}]}\'', parse_variants)
    n_index: int = option(1000, "index samples", int)
    # Not options (--quick sets them).
    n_test: int = 1000
    n_dyads: int = 1000
    schedule: dict = None
    far_near_n_train: int = 500
    n_eval: int = 2000

    @classmethod
    def quick(cls):
        """A CI-sized sweep: checks the pipeline, not the numbers."""
        return cls(seeds=(0,), input_dims=(2,), temperatures=(0.1,), n_trains=(20,), n_test=200,
                   n_dyads=50, n_index=20, schedule=dict(SCHEDULE, n_steps=20),
                   far_near_seeds=(0,), far_near_n_train=60, n_eval=100)


def training_schedule(n_train, n_steps=SCHEDULE["n_steps"], batch_size=SCHEDULE["batch_size"]):
    """Batch size and epochs that give ``n_steps`` SGD steps on ``n_train`` rows.

    Returns
    -------
    schedule : dict
        ``batch_size``, ``max_epochs`` and ``n_steps`` (the steps actually
        taken, a whole number of epochs).
    """
    batch_size = min(int(batch_size), int(n_train))
    per_epoch = math.ceil(n_train / batch_size)
    epochs = max(1, math.ceil(n_steps / per_epoch))
    return {"batch_size": batch_size, "max_epochs": epochs, "n_steps": epochs * per_epoch}


def agent_estimator(agent, seed, *, n_train, input_dim, params=None, schedule=None,
                    variants=None):
    """An unfitted estimator for ``agent``, trained on ``n_train`` rows by ``schedule``.

    Parameters
    ----------
    agent : str
        A key of :data:`AGENTS` (or of ``variants``).
    seed : int
        ``random_state`` of the estimator.
    n_train : int
        Training rows (sets batch size and epochs).
    input_dim : int
        Input dimension ``D``: ``prior_precision_per_input`` c is ``prior_precision = c * D``.
    params : dict or None
        Estimator settings over the agent's own.
    schedule : dict or None
        ``n_steps``, ``batch_size``, ``lr``; :data:`SCHEDULE` by default.
    variants : dict or None
        Extra agents, ``{name: (estimator name, settings)}``.

    Returns
    -------
    estimator : skepinet estimator
    n_steps : int
        SGD steps its ``fit`` takes.
    """
    agents = {**AGENTS, **(variants or {})}
    if agent not in agents:
        raise ValueError(f"unknown agent {agent!r}; choose from {sorted(agents)}.")
    estimator_name, own = agents[agent]
    schedule = {**SCHEDULE, **(schedule or {})}
    steps = training_schedule(n_train, schedule["n_steps"], schedule["batch_size"])
    settings = {**resolve_params({**own, **(params or {})}, input_dim), "lr": schedule["lr"],
                "batch_size": steps["batch_size"], "max_epochs": steps["max_epochs"]}
    return ESTIMATORS[estimator_name](random_state=seed, **settings), steps["n_steps"]


def training_flops(estimator, X, y):
    """FLOPs of one training step of a fitted estimator on a batch of ``X``, as torch counts them.

    The step runs on a copy, so ``estimator`` is untouched. Matrix products
    are counted (the bulk of the work); a backward pass counts as its own
    products.
    """
    probe = copy.deepcopy(estimator)
    batch = min(len(y), probe.batch_size)
    with FlopCounterMode(display=False) as counter:
        probe.partial_fit(X[:batch], y[:batch], epochs=1)
    return int(counter.get_total_flops())


def enn_quality(estimator, X_test, proba_test, *, n_index=1000, tau=10, n_dyads=1000,
                random_state=0):
    """Marginal and dyadic joint KL of a fitted estimator against the true probabilities.

    Returns
    -------
    metrics : dict
        ``marginal_kl`` and ``joint_kl`` (nats; the joint over ``tau``
        labels).
    """
    joint = estimator.predict_proba_joint(X_test, n_index=n_index)
    rows, labels = sample_dyads(proba_test, tau=tau, n_dyads=n_dyads, random_state=random_state)
    return {"marginal_kl": marginal_kl(proba_test, joint.mean(axis=0)),
            "joint_kl": dyadic_kl(joint, proba_test, rows, labels)}


def _quality_unit(agent, seed, problem_settings, params, schedule, n_index, n_dyads, variants):
    problem = make_problem(seed, **problem_settings)
    X, y = problem["X_pool"], problem["y_pool"]
    estimator, n_steps = agent_estimator(agent, seed, n_train=len(y),
                                         input_dim=problem_settings["input_dim"], params=params,
                                         schedule=schedule, variants=variants)
    start = time.perf_counter()
    estimator.fit(X, y)
    fit_time = time.perf_counter() - start
    record = enn_quality(estimator, problem["X_test"], problem["proba_test"], n_index=n_index,
                         n_dyads=n_dyads, random_state=seed)
    flops = training_flops(estimator, X, y)
    record.update(problem_seed=problem["seed"], n_steps=n_steps, flops_per_step=flops,
                  training_flops=flops * n_steps, fit_time_s=fit_time)
    return [record]


def far_near_ratio(estimator, X, *, n_train=500, n_eval=2000, n_index=DEFAULT_N_INDEX):
    """Mean epistemic variance and BALD far from the training half-space over near it.

    ``X`` rows with ``x[0] < 0``: the first ``n_train`` train the estimator
    (already done by the caller, see :func:`_far_near_unit`), the next
    ``n_eval`` are *near*; rows with ``x[0] > 1`` are *far*.

    Returns
    -------
    metrics : dict
        ``variance_near``, ``variance_far``, ``variance_ratio`` and the same
        for ``bald``.
    """
    near_rows = np.flatnonzero(X[:, 0] < 0)[n_train:n_train + n_eval]
    far_rows = np.flatnonzero(X[:, 0] > 1)[:n_eval]
    joint = estimator.predict_proba_joint(np.concatenate([X[near_rows], X[far_rows]]),
                                          n_index=n_index)
    out = {}
    for name, score in (("variance", variance), ("bald", bald)):
        values = score(joint)
        near, far = values[:len(near_rows)].mean(), values[len(near_rows):].mean()
        out[f"{name}_near"], out[f"{name}_far"] = float(near), float(far)
        out[f"{name}_ratio"] = float(far / near) if near > 0 else float("nan")
    return out


def _far_near_unit(agent, seed, n_train, n_eval, n_index, params, schedule, variants):
    # Enough rows that n_train + n_eval fall in the half x[0] < 0 and n_eval at x[0] > 1.
    n_rows = 8 * (n_train + n_eval)
    problem = make_problem(seed, temperature=0.1, input_dim=10, n_pool=n_rows, n_test=2)
    X, y = problem["X_pool"], problem["y_pool"]
    train = np.flatnonzero(X[:, 0] < 0)[:n_train]
    estimator, n_steps = agent_estimator(agent, seed, n_train=n_train, input_dim=10,
                                         params=params, schedule=schedule, variants=variants)
    estimator.fit(X[train], y[train])
    record = far_near_ratio(estimator, X, n_train=n_train, n_eval=n_eval, n_index=n_index)
    record.update(problem_seed=problem["seed"], n_steps=n_steps)
    return [record]


class _Unit:
    """A picklable call (joblib ships it to a worker)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __call__(self):
        return self.func(*self.args)


#: The far/near experiment with each agent's defaults, and with the quality sweep's prior.
FAR_NEAR, FAR_NEAR_PRIOR = "far-near", "far-near-prior"


def _task(input_dim, temperature, n_train):
    return f"D{input_dim}-T{temperature:g}-n{n_train}"


def resolve_params(params, input_dim):
    """Estimator settings for a problem: ``prior_precision_per_input`` c becomes ``c * D``."""
    params = dict(params)
    per_input = params.pop("prior_precision_per_input", None)
    if per_input is not None:
        params["prior_precision"] = float(per_input) * input_dim
    return params


def _effective_settings(agent, params, variants, input_dim):
    """Every constructor setting of the agent's estimator, defaults included, as text.

    Part of each run's key, so a changed default is a new run, never a stale one.
    """
    estimator, _ = agent_estimator(agent, 0, n_train=1, input_dim=input_dim, params=params,
                                   variants=variants)
    return estimator_settings(estimator, exclude=("random_state", "batch_size", "max_epochs"))


def _units(*, seeds, input_dims, temperatures, n_trains, n_test, agents, agent_params, schedule,
           n_index, n_dyads, far_near_seeds, far_near_n_train, n_eval, far_near_params,
           variants):
    units = []
    for input_dim in input_dims:
        for temperature in temperatures:
            for n_train in n_trains:
                task = _task(input_dim, temperature, n_train)
                problem = dict(temperature=temperature, input_dim=input_dim, n_pool=n_train,
                               n_test=n_test)
                for agent in agents:
                    params = agent_params.get(agent, {})
                    estimator = _effective_settings(agent, params, variants, input_dim)
                    for seed in seeds:
                        settings = dict(problem, seed=seed, agent=agent, params=params,
                                        schedule=schedule, n_index=n_index, n_dyads=n_dyads,
                                        variant=(variants or {}).get(agent), estimator=estimator)
                        units.append((task, agent, seed, settings, _Unit(
                            _quality_unit, agent, seed, problem, params, schedule, n_index,
                            n_dyads, variants)))
    for task, regime in ((FAR_NEAR, far_near_params), (FAR_NEAR_PRIOR, agent_params)):
        for agent in agents:
            if agent == "mlp":  # no epistemic uncertainty: 0 / 0
                continue
            params = regime.get(agent, {})
            estimator = _effective_settings(agent, params, variants, 10)
            for seed in far_near_seeds:
                settings = dict(seed=seed, agent=agent, n_train=far_near_n_train, n_eval=n_eval,
                                n_index=DEFAULT_N_INDEX, params=params, schedule=schedule,
                                variant=(variants or {}).get(agent), estimator=estimator)
                units.append((task, agent, seed, settings, _Unit(
                    _far_near_unit, agent, seed, far_near_n_train, n_eval, 100, params,
                    schedule, variants)))
    return units


def summarize_enn(results, *, agents, tasks, seeds, far_near_seeds, reference="mlp",
                  min_n_train=100):
    """Per task and agent: mean ± se of KLs and normalised KLs; sweep averages; far/near ratios.

    Normalised KLs divide an agent's KL by ``reference``'s on the same
    problem (seed). Sweep averages first average a seed's normalised KLs
    over the tasks with ``n_train >= min_n_train``, then take mean and
    standard error over seeds; ``*_minus_ensemble`` are the differences to
    the ensemble paired by seed.
    """
    table, per_seed = [], {}
    for task in tasks:
        for agent in agents:
            runs = {s: results[(task, agent, s)][0] for s in seeds if (task, agent, s) in results}
            if not runs:
                continue
            row = {"task": task, "agent": agent, "n_seeds": len(runs)}
            for metric in ("marginal_kl", "joint_kl"):
                row[metric], row[f"{metric}_se"] = mean_se([r[metric] for r in runs.values()])
                ref = {s: results[(task, reference, s)][0][metric] for s in runs
                       if (task, reference, s) in results}
                if ref:
                    norm = [runs[s][metric] / max(ref[s], 1e-12) for s in ref]
                    row[f"{metric}_norm"], row[f"{metric}_norm_se"] = mean_se(norm)
                    if int(task.rsplit("-n", 1)[1]) >= min_n_train:
                        for s in ref:
                            per_seed.setdefault((agent, metric), {}).setdefault(s, []).append(
                                runs[s][metric] / max(ref[s], 1e-12))
            row["training_flops"] = float(np.mean([r["training_flops"] for r in runs.values()]))
            row["fit_time_s"] = float(np.mean([r["fit_time_s"] for r in runs.values()]))
            table.append(row)
    sweep = {}
    for agent in agents:
        entry = {}
        for metric in ("marginal_kl", "joint_kl"):
            by_seed = {s: np.mean(v) for s, v in per_seed.get((agent, metric), {}).items()}
            if by_seed:
                entry[f"{metric}_norm"], entry[f"{metric}_norm_se"] = mean_se(
                    list(by_seed.values()))
            ensemble = {s: np.mean(v) for s, v in per_seed.get(("ensemble", metric), {}).items()}
            paired = [by_seed[s] - ensemble[s] for s in by_seed if s in ensemble]
            if paired and agent != "ensemble":
                key = f"{metric}_norm_minus_ensemble"
                entry[key], entry[f"{key}_se"] = mean_se(paired)
        flops = [r["training_flops"] for r in table if r["agent"] == agent]
        if flops:
            entry["training_flops"] = float(np.mean(flops))
        for task, prefix in ((FAR_NEAR, ""), (FAR_NEAR_PRIOR, "prior_")):
            far = {s: results[(task, agent, s)][0] for s in far_near_seeds
                   if (task, agent, s) in results}
            for name in ("variance_ratio", "bald_ratio"):
                if far:
                    entry[prefix + name], entry[f"{prefix}{name}_se"] = mean_se(
                        [r[name] for r in far.values()])
            ensemble = {s: results[(task, "ensemble", s)][0] for s in far
                        if (task, "ensemble", s) in results}
            if ensemble and agent != "ensemble":
                key = f"{prefix}variance_ratio_minus_ensemble"
                entry[key], entry[f"{key}_se"] = mean_se(
                    [far[s]["variance_ratio"] - ensemble[s]["variance_ratio"] for s in ensemble])
        sweep[agent] = entry
    if "ensemble" in sweep and sweep["ensemble"].get("training_flops"):
        for entry in sweep.values():
            if "training_flops" in entry:
                entry["flops_vs_ensemble"] = entry["training_flops"] / sweep["ensemble"][
                    "training_flops"]
    return {"table": table, "sweep": sweep, "min_n_train": min_n_train}


def run_enn(out, *, seeds=EnnDefaults.seeds, input_dims=EnnDefaults.input_dims,
            temperatures=EnnDefaults.temperatures, n_trains=EnnDefaults.n_trains,
            n_test=EnnDefaults.n_test, agents=None, agent_params=None, far_near_params=None,
            variants=None, schedule=None, n_index=EnnDefaults.n_index,
            n_dyads=EnnDefaults.n_dyads, far_near_seeds=EnnDefaults.far_near_seeds,
            far_near_n_train=EnnDefaults.far_near_n_train, n_eval=EnnDefaults.n_eval, n_jobs=1,
            backend=None, scheduler=None, progress=True, rerun_stale=False):
    """Run (or resume) the ENN-quality sweep and write its results under ``out``.

    Writes ``summary.json``, ``table.csv`` (agent x setting), ``sweep.csv``
    (averages and far/near ratios) and, with matplotlib, ``enn_quality.png``.
    The defaults are :class:`EnnDefaults`' (the command line's).

    Parameters
    ----------
    out : path
        Results folder; every run is saved under ``out/units`` as it finishes.
    seeds : iterable of int
        Problem seeds of the quality sweep.
    input_dims, temperatures, n_trains : tuples
        The sweep's settings ``(D, T, n_train)``.
    n_test : int
        Test inputs per problem.
    agents : list of str or None (default=None)
        Keys of :data:`AGENTS` (or ``variants``); all of :data:`AGENTS` when
        ``None``. ``'mlp'`` is needed for the normalised KLs.
    agent_params : dict or None
        ``{agent: settings}`` over :data:`AGENT_PARAMS` in the quality sweep.
    far_near_params : dict or None
        ``{agent: settings}`` of the far/near experiment (default: none, the
        estimators' defaults with the schedule).
    variants : dict or None
        Extra agents, ``{name: (estimator name, settings)}``, e.g. for tuning.
    schedule : dict or None
        Over :data:`SCHEDULE`.
    n_index, n_dyads : int
        Index samples and dyadic batches of the joint KL.
    far_near_seeds : iterable of int
        Seeds of the far/near experiment.
    far_near_n_train, n_eval : int
        Its training rows, and its near and far evaluation rows.
    n_jobs : int (default=1)
        joblib workers.
    backend : str or None
        joblib backend.
    scheduler : str or None
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
    """
    agents = list(AGENTS) if agents is None else list(agents)
    known = {**AGENTS, **(variants or {})}
    unknown = sorted(set(agents) - set(known))
    if unknown:
        raise ValueError(f"unknown agents {unknown}; choose from {sorted(known)}.")
    params = {a: {**AGENT_PARAMS.get(a, {}), **(agent_params or {}).get(a, {})} for a in agents}
    schedule = {**SCHEDULE, **(schedule or {})}
    seeds, far_near_seeds = [int(s) for s in seeds], [int(s) for s in far_near_seeds]
    tasks = [_task(d, t, n) for d in input_dims for t in temperatures for n in n_trains]
    units = _units(seeds=seeds, input_dims=input_dims, temperatures=temperatures,
                   n_trains=n_trains, n_test=n_test, agents=agents, agent_params=params,
                   schedule=schedule, n_index=n_index, n_dyads=n_dyads,
                   far_near_seeds=far_near_seeds, far_near_n_train=far_near_n_train,
                   n_eval=n_eval, far_near_params=far_near_params or {}, variants=variants)
    start = time.perf_counter()
    results = run_units(units, out, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                        progress=progress, desc="enn runs", rerun_stale=rerun_stale)
    summary = summarize_enn(results, agents=agents, tasks=tasks, seeds=seeds,
                            far_near_seeds=far_near_seeds,
                            reference="mlp" if "mlp" in agents else agents[0])
    summary = {"settings": dict(seeds=seeds, input_dims=list(input_dims),
                                temperatures=list(temperatures), n_trains=list(n_trains),
                                n_test=n_test, agents=agents, agent_params=params,
                                far_near_params=far_near_params or {}, variants=variants or {},
                                schedule=schedule, n_index=n_index, n_dyads=n_dyads,
                                far_near_seeds=far_near_seeds,
                                far_near_n_train=far_near_n_train, n_eval=n_eval),
               "wall_time_s": time.perf_counter() - start,
               "code_versions": code_versions(out, results), **summary}
    write_enn_outputs(out, summary)
    return summary


def write_enn_outputs(out, summary):
    """Write ``summary.json``, ``table.csv``, ``sweep.csv`` and ``enn_quality.png``."""
    out = Path(out)
    write_summary_json(out, summary)
    write_csv(out / "table.csv", summary["table"])
    write_csv(out / "sweep.csv", [{"agent": a, **e} for a, e in summary["sweep"].items()])
    plot_enn(out / "enn_quality.png", summary)


def plot_enn(path, summary):
    """Normalised joint KL per setting and agent (bars with standard errors)."""
    plt = pyplot_or_none()
    if plt is None:
        return None
    rows = summary["table"]
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    agents = [a for a in summary["settings"]["agents"] if a != "mlp"]
    if not tasks or not agents:
        return None
    fig, ax = plt.subplots(figsize=(max(6.4, 0.55 * len(tasks) * len(agents) / 2), 4.2))
    width = 0.8 / len(agents)
    for i, agent in enumerate(agents):
        by_task = {r["task"]: r for r in rows if r["agent"] == agent}
        y = [by_task.get(t, {}).get("joint_kl_norm", np.nan) for t in tasks]
        se = [by_task.get(t, {}).get("joint_kl_norm_se", 0.0) for t in tasks]
        ax.bar(np.arange(len(tasks)) + i * width, y, width, yerr=np.nan_to_num(se),
               label=agent, capsize=1.5)
    ax.axhline(1.0, color="black", ls=":", lw=1, label="plain MLP")
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2)
    ax.set_xticklabels(tasks, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("joint KL (tau=10) / plain MLP's")
    ax.set_title("ENN quality on the testbed (lower is better)")
    ax.legend(fontsize=7, ncol=3)
    return save_figure(plt, fig, path)


def _fmt(value, se=None, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:.{digits}f}"
    return text if se is None or not math.isfinite(se) else f"{text} ± {se:.{digits}f}"


def format_summary(summary):
    """The sweep averages and far/near ratios, and the per-setting joint KLs, as text."""
    lines = [f"ENN quality, averaged over settings with n_train >= {summary['min_n_train']} "
             "(KL / plain MLP's KL; lower is better)",
             f"{'agent':<12} {'marginal KL':>16} {'joint KL':>16} {'far/near var':>15} "
             f"{'far/near BALD':>15} {'same, prior':>15} {'FLOPs/ens.':>10}"]
    for agent, e in summary["sweep"].items():
        lines.append(
            f"{agent:<12} {_fmt(e.get('marginal_kl_norm'), e.get('marginal_kl_norm_se')):>16} "
            f"{_fmt(e.get('joint_kl_norm'), e.get('joint_kl_norm_se')):>16} "
            f"{_fmt(e.get('variance_ratio'), e.get('variance_ratio_se'), 2):>15} "
            f"{_fmt(e.get('bald_ratio'), e.get('bald_ratio_se'), 2):>15} "
            f"{_fmt(e.get('prior_variance_ratio'), e.get('prior_variance_ratio_se'), 2):>15} "
            f"{_fmt(e.get('flops_vs_ensemble'), None, 2):>10}")
    lines += ["far/near: mean epistemic variance (or BALD) at x[0] > 1 over x[0] < 0, trained on "
              "x[0] < 0 (D=10, T=0.1); 'same, prior': with the sweep's prior precision"]
    lines += ["", "joint KL (tau=10, nats) per setting, mean ± se over seeds"]
    agents = list(summary["sweep"])
    lines.append(f"{'setting':<18}" + "".join(f"{a:>18}" for a in agents))
    by = {(r["task"], r["agent"]): r for r in summary["table"]}
    for task in dict.fromkeys(r["task"] for r in summary["table"]):
        lines.append(f"{task:<18}" + "".join(
            f"{_fmt(by[(task, a)]['joint_kl'], by[(task, a)]['joint_kl_se'], 2):>18}"
            if (task, a) in by else f"{'-':>18}" for a in agents))
    return "\n".join(lines)

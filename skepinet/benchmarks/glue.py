"""Label efficiency on GLUE (paper §4): SST-2 and RTE with a MiniLM encoder.

Two modes:

- ``frozen`` (default; minutes on a CPU): the encoder's mean-pooled features
  of the pool and validation texts are computed once (and cached on disk
  under ``<out>/features``), standardised with the pool's statistics, and
  every agent trains its MLP head on them.
- ``finetune`` (for a GPU): every agent and the baseline train the whole
  encoder (``backbone='bert'``) on the texts, as the paper does with BERT.

The agents, Algorithm 1 and the tuned baseline are those of the testbed
(:mod:`skepinet.benchmarks.testbed`); the metric is validation accuracy.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import load_glue
from ..estimators import BaselineClassifier
from ..utils import DEFAULT_N_INDEX
from ._sweep import code_versions, estimator_settings, run_units
from .agents import AGENTS, LOOP_AGENTS
from .common import (
    budget_label_counts,
    option,
    parse_float_list,
    parse_int_list,
    parse_json,
    parse_names,
)
from .plots import plot_curves, plot_headline, plot_savings
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
from .testbed import (
    AGENT_PARAMS,
    LOOP_PARAMS,
    label_grid,
    make_agent_estimator,
    run_agent,
    run_baseline,
)

__all__ = ["GLUE_AGENT_PARAMS", "GLUE_BASELINE_GRID", "FINETUNE_PARAMS", "encode_texts",
           "frozen_features",
           "make_glue_problem", "run_glue", "GlueDefaults"]

# Head settings on frozen features (the testbed's agent settings).
GLUE_AGENT_PARAMS = dict(AGENT_PARAMS)
GLUE_LOOP_PARAMS = dict(LOOP_PARAMS["pool"], acquisition_size=20)
# Heads on frozen features fit in fewer epochs than the testbed's networks (and the pool is
# twice as large): 24 settings.
GLUE_BASELINE_GRID = [
    {"lr": [1e-3, 3e-3], "weight_decay": [1e-3, 1e-2, 1e-1], "batch_size": [32],
     "max_epochs": [10, 30]},
    {"lr": [1e-3, 3e-3], "weight_decay": [1e-3, 1e-2, 1e-1], "batch_size": [128],
     "max_epochs": [30, 100]},
]
# Fine-tuning, as in the paper's appendix C.2: Adam, a small encoder learning rate, gradient
# norm clipped at 1; 64 tokens and mean pooling (MiniLM's own) so that a CPU can run it. Each
# step labels 32 of 256 candidates and takes 8 SGD steps of 32 rows drawn from a replay of every
# label so far (the reference code's recipe, a quarter step per label).
FINETUNE_PARAMS = dict(backbone="bert", pooling="mean", max_length=64, encoder_lr=3e-5,
                       lr=1e-3, batch_size=32, weight_decay=1e-4, gradient_clip=1.0)
FINETUNE_LOOP_PARAMS = dict(candidate_size=256, acquisition_size=32, recipe="replay",
                            steps_per_label=0.25)
FINETUNE_BASELINE_GRID = {"encoder_lr": [1e-5, 3e-5], "max_epochs": [1, 2, 3]}
#: Tokens per text when ``max_length`` is not given, per mode.
MAX_LENGTH = {"frozen": 128, "finetune": FINETUNE_PARAMS["max_length"]}
METRICS = ["accuracy", "log_loss"]


@dataclass(frozen=True)
class GlueDefaults:
    """Settings of ``skepinet-bench glue`` and :func:`run_glue`.

    :meth:`quick` gives the CI run's.
    """

    tasks: tuple = option(("sst2", "rte"), "comma-separated GLUE tasks", parse_names)
    data_dir: Path = option(None, "GLUE folder", Path,
                            shown="$GLUE_DIR; one of the two is required")
    mode: str = option("frozen", "frozen encoder with cached features (CPU), or full "
                       "fine-tuning (GPU)", choices=("frozen", "finetune"))
    seeds: tuple = option((0, 1, 2), "seeds", parse_int_list)
    agents: tuple = option(None, "comma-separated agents, '' for none (baselines only)",
                           parse_names, shown="all")
    n_pool: int = option(2000, "training rows sampled as the pool, 0 = all", int)
    n_test: int = option(None, "validation rows", int, shown="all")
    n_points: int = option(20, "evaluations per curve", int)
    fractions: tuple = option((0.1, 0.25, 0.5, 1.0), "pool fractions for the baseline",
                              parse_float_list)
    pretrained: str = option(None, "Hugging Face model name or folder", shown="the offline MiniLM")
    max_length: int = option(None, "tokens per text", int, shown=f"{MAX_LENGTH['frozen']} "
                             f"frozen, {MAX_LENGTH['finetune']} finetune")
    budget: int = option(None, "labels per run", int, shown="the whole pool")
    agent_params: dict = option({}, "JSON overrides of the mode's agent settings", parse_json,
                                merge=True)
    loop_params: dict = option({}, "JSON overrides of the mode's ActiveLearner.run settings "
                               "(added to --quick's)", parse_json, merge=True)
    grid: dict = option(None, "JSON baseline grid", parse_json, shown="the mode's, "
                        "GLUE_BASELINE_GRID or FINETUNE_BASELINE_GRID")
    n_index: int = option(DEFAULT_N_INDEX, "index samples", int)

    @classmethod
    def quick(cls):
        """A CI-sized run: checks the pipeline, not the numbers."""
        return cls(n_pool=60, n_test=40, seeds=(0,), n_points=2, tasks=("sst2",),
                   loop_params={"acquisition_size": 20},
                   grid={"lr": [1e-3], "weight_decay": [1e-2], "batch_size": [32],
                         "max_epochs": [3]})


def _sample_rows(n_rows, n, seed):
    if n is None or n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=n, replace=False))


def encode_texts(texts, *, pretrained=None, pooling="mean", max_length=128, batch_size=64,
                 device="auto", cache_dir=None, progress=True):
    """Features of a frozen encoder for each text (or sentence pair), cached.

    The cache is skepinet's one frozen-feature cache,
    :func:`skepinet.text.cached_features`: in memory for the process (shared
    with estimators that freeze the same encoder) and, with ``cache_dir``, on
    disk.

    Parameters
    ----------
    texts : array-like of str, or of shape (n, 2) for sentence pairs
        The texts.
    pretrained : str or None (default=None)
        Hugging Face model name or folder; ``None`` is the offline MiniLM.
    pooling : {'mean', 'cls'} (default='mean')
        How token states become one vector.
    max_length : int (default=128)
        Tokens per text (truncated).
    batch_size : int (default=64)
        Texts per encoder call.
    device : str (default='auto')
        ``'auto'`` uses CUDA when available.
    cache_dir : path or None (default=None)
        Where to keep the features on disk (``.npy``, keyed by model,
        pooling, length and texts); ``None`` keeps them in memory only.
    progress : bool (default=True)
        Show a progress bar.

    Returns
    -------
    features : ndarray of shape (n, hidden_size), float32
    """
    import torch
    from tqdm.auto import tqdm

    from .. import text

    rows = text.check_texts(texts)
    path = text.resolve_pretrained(pretrained)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"

    def compute(missing):
        tokenizer = text.shared_tokenizer(path)
        encoder = text.frozen_encoder(path, pooling, device)
        chunks = []
        with torch.inference_mode():
            for start in tqdm(range(0, len(missing), batch_size), desc="encoding", unit="batch",
                              disable=not progress):
                batch = text.tokenize(tokenizer, missing[start:start + batch_size], max_length)
                batch = {k: v.to(device) for k, v in batch.items()}
                chunks.append(encoder(**batch).float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32)

    return text.cached_features(rows, text.cache_key(path, pooling, max_length), compute,
                                folder=cache_dir)


def make_glue_problem(task, *, data_dir=None, n_pool=2000, n_test=None, mode="frozen",
                      pretrained=None, max_length=128, cache_dir=None, progress=True,
                      sample_seed=0):
    """Pool and validation set of a GLUE task, as features (frozen) or texts (finetune).

    The pool is a seeded random sample of ``n_pool`` training rows (all of
    them when ``None`` or larger); the test set is the validation split
    (its first ``n_test`` rows when given).

    Frozen features of sentence pairs are those of :func:`frozen_features`:
    ``[u, v, |u - v|, u * v]``.

    Returns
    -------
    problem : dict
        ``X_pool``, ``y_pool``, ``X_test``, ``y_test``, and ``text_pairs``
        (whether the task's inputs are sentence pairs).
    """
    X_train, y_train = load_glue(task, data_dir, split="train")
    split = "validation_matched" if task.lower().replace("-", "") == "mnli" else "validation"
    X_dev, y_dev = load_glue(task, data_dir, split=split)
    pool = _sample_rows(len(X_train), n_pool, sample_seed)
    test = np.arange(len(X_dev) if n_test is None else min(n_test, len(X_dev)))
    problem = {"X_pool": X_train[pool], "y_pool": y_train[pool], "X_test": X_dev[test],
               "y_test": y_dev[test], "text_pairs": _is_pairs(X_train)}
    if mode == "finetune":
        return problem
    encode = dict(pretrained=pretrained, pooling="mean", max_length=max_length,
                  cache_dir=cache_dir, progress=progress)
    pool_features = frozen_features(problem["X_pool"], **encode)
    test_features = frozen_features(problem["X_test"], **encode)
    # Standardise with the pool's statistics (no labels involved), so the head's default
    # learning rate suits any encoder's feature scale.
    mean, std = pool_features.mean(0), pool_features.std(0) + 1e-6
    problem["X_pool"] = (pool_features - mean) / std
    problem["X_test"] = (test_features - mean) / std
    return problem


def _is_pairs(texts):
    return np.ndim(texts) == 2 and np.shape(texts)[1] == 2


def frozen_features(texts, **encode):
    """Frozen-encoder features of texts, or SBERT-style features of sentence pairs.

    A sentence embedding of a concatenated pair knows little about how the
    two relate; for pairs this returns ``[u, v, |u - v|, u * v]`` of the two
    sentences' embeddings (Reimers & Gurevych, 2019), the usual frozen
    features for entailment and paraphrase tasks.

    Parameters
    ----------
    texts : array-like of str, or of shape (n, 2)
        Sentences, or sentence pairs.
    **encode
        Passed to :func:`encode_texts`.

    Returns
    -------
    features : ndarray of shape (n, d) or (n, 4 * d), float32
    """
    if not _is_pairs(texts):
        return encode_texts(texts, **encode)
    texts = np.asarray(texts)
    u = encode_texts(list(texts[:, 0]), **encode)
    v = encode_texts(list(texts[:, 1]), **encode)
    return np.concatenate([u, v, np.abs(u - v), u * v], axis=1)


class _GlueUnit:
    """A picklable agent or baseline run on a GLUE problem held in a file."""

    def __init__(self, kind, seed, problem_file, labels, params, loop, grid, n_index):
        self.args = (kind, seed, problem_file, labels, params, loop, grid, n_index)

    def __call__(self):
        kind, seed, problem_file, labels, params, loop, grid, n_index = self.args
        problem = _load_problem(problem_file)
        if kind == "baseline":
            return run_baseline(seed, problem, labels=labels, grid=grid, estimator_params=params)
        return run_agent(kind, seed, problem, labels=labels, agent_params=params,
                         loop_params=loop, n_index=n_index)


def _baseline_params(params, grid):
    """The agents' settings that the baseline shares: those it takes and the grid leaves."""
    # Gradient clipping is shared; weight decay is the grid's, never the agents' prior.
    accepted = set(BaselineClassifier().get_params(deep=False)) | {"gradient_clip"}
    swept = {k for g in (grid if isinstance(grid, list) else [grid]) for k in g}
    return {k: v for k, v in params.items() if k in accepted and k not in swept}


def _save_problem(problem, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **problem)


def _load_problem(path):
    with np.load(path, allow_pickle=True) as data:
        return {k: data[k] for k in data.files}


def run_glue(out, *, tasks=GlueDefaults.tasks, data_dir=None, mode=GlueDefaults.mode,
             seeds=GlueDefaults.seeds, agents=None, n_pool=GlueDefaults.n_pool, budget=None,
             n_test=None, n_points=GlueDefaults.n_points, fractions=GlueDefaults.fractions,
             pretrained=None, max_length=None, agent_params=None, loop_params=None, grid=None,
             n_index=GlueDefaults.n_index, n_jobs=1, backend=None, scheduler=None,
             progress=True, rerun_stale=False):
    """Run (or resume) the GLUE sweep and write its results under ``out``.

    The defaults are :class:`GlueDefaults`' (the command line's).

    Parameters
    ----------
    out : path
        Results folder (units, features cache, summary, CSVs, PNGs).
    tasks : tuple of str
        GLUE tasks (any that :func:`skepinet.datasets.load_glue` reads).
    data_dir : path or None
        The GLUE folder.
    mode : {'frozen', 'finetune'}
        Train heads on cached encoder features, or fine-tune the encoder.
    seeds : iterable of int
        Seeds of the agents and the baseline (the pool sample is fixed).
    agents : list of str or None
        Names of :data:`~skepinet.benchmarks.agents.LOOP_AGENTS`; all when ``None``.
    n_pool : int or None
        Training rows forming the pool (``None``: all).
    budget : int or None (default=None)
        Labels per run (``None``: the whole pool). The baseline is trained
        on ``fractions`` of it.
    n_test : int or None (default=None)
        Validation rows scored (``None``: all).
    n_points : int
        Evaluations per learning curve.
    fractions : tuple of float
        Budget fractions the baseline is trained on.
    pretrained : str or None
        Encoder; the offline MiniLM when ``None``.
    max_length : int or None (default=None)
        Tokens per text; the mode's :data:`MAX_LENGTH` when ``None``.
    agent_params, loop_params, grid : dict or None
        Overrides of the mode's agent settings, loop settings and baseline
        grid.
    n_index : int
        Index samples for scoring.
    n_jobs, backend, scheduler, progress, rerun_stale
        As for :func:`~skepinet.benchmarks.run_testbed`.

    Returns
    -------
    summary : dict
    """
    if mode not in ("frozen", "finetune"):
        raise ValueError(f"mode must be 'frozen' or 'finetune', got {mode!r}.")
    agents = list(LOOP_AGENTS) if agents is None else list(agents)
    unknown = sorted(set(agents) - set(LOOP_AGENTS))
    if unknown:
        raise ValueError(f"unknown agents {unknown}; choose from {sorted(LOOP_AGENTS)}.")
    out = Path(out)
    if max_length is None:
        max_length = MAX_LENGTH[mode]
    base_params = GLUE_AGENT_PARAMS if mode == "frozen" else {
        **FINETUNE_PARAMS, "max_length": max_length,
        **({"pretrained": pretrained} if pretrained else {})}
    params = {**base_params, **(agent_params or {})}
    loop = {**(GLUE_LOOP_PARAMS if mode == "frozen" else FINETUNE_LOOP_PARAMS),
            **(loop_params or {})}
    grid = grid if grid is not None else (
        GLUE_BASELINE_GRID if mode == "frozen" else FINETUNE_BASELINE_GRID)
    seeds = [int(s) for s in seeds]
    units, pools = [], {}
    start = time.perf_counter()
    for task in tasks:
        problem = make_glue_problem(task, data_dir=data_dir, n_pool=n_pool, n_test=n_test,
                                    mode=mode, pretrained=pretrained, max_length=max_length,
                                    cache_dir=out / "features", progress=progress)
        size = len(problem["y_pool"])
        if budget is not None and not 0 < budget <= size:
            raise ValueError(f"budget={budget} must be between 1 and the pool's {size} rows.")
        pools[task] = size if budget is None else int(budget)
        problem_file = out / "problems" / f"{task}-{mode}.npz"
        _save_problem(problem, problem_file)
        labels = label_grid(pools[task], n_points, first=loop["acquisition_size"])
        common = dict(task=task, mode=mode, n_pool=size, n_test=len(problem["y_test"]),
                      pretrained=pretrained, max_length=max_length)
        if problem.pop("text_pairs") and mode == "frozen":
            common["pair_features"] = "u, v, |u-v|, u*v"
        for seed in seeds:
            b_labels = budget_label_counts(pools[task], fractions)
            fixed = _baseline_params(params, grid)
            units.append((f"{task}-{mode}", "baseline", seed,
                          dict(common, seed=seed, labels=b_labels, grid=grid, params=fixed,
                               estimator=estimator_settings(BaselineClassifier())),
                          _GlueUnit("baseline", seed, problem_file, b_labels, fixed, loop, grid,
                                    n_index)))
            for agent in agents:
                units.append((f"{task}-{mode}", agent, seed,
                              dict(common, seed=seed, labels=labels, agent=agent, params=params,
                                   loop=loop, n_index=n_index,
                                   estimator=estimator_settings(
                                       make_agent_estimator(AGENTS[agent].estimator, 0, params))),
                              _GlueUnit(agent, seed, problem_file, labels, params, loop, grid,
                                        n_index)))
    results = run_units(units, out, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                        progress=progress, desc="GLUE runs", rerun_stale=rerun_stale)
    curves, baselines = aggregate(results, [f"{t}-{mode}" for t in tasks], agents, METRICS,
                                  "accuracy", greater_is_better=True)
    table = headline(curves, baselines, {f"{t}-{mode}": pools[t] for t in tasks}, "accuracy",
                     greater_is_better=True)
    budgets = {f"{t}-{mode}": pools[t] for t in tasks}
    summary = {
        "settings": dict(tasks=list(tasks), mode=mode, seeds=seeds, agents=agents,
                         n_pool=n_pool, budget=pools, n_test=n_test, n_points=n_points,
                         fractions=list(fractions), pretrained=pretrained or "MiniLM (offline)",
                         max_length=max_length, agent_params=params, loop_params=loop, grid=grid,
                         n_index=n_index),
        "wall_time_s": time.perf_counter() - start,
        "code_versions": code_versions(out, results),
        "curves": curves, "baselines": baselines, "headline": table,
        "protocols": protocol_table(results, curves, baselines, budgets, "accuracy",
                                    greater_is_better=True),
        "savings": savings_table(curves, "accuracy", greater_is_better=True),
        "not_better_at": epistemic_checks(curves, {f"{t}-{mode}": pools[t] for t in tasks},
                                          "accuracy", greater_is_better=True),
    }
    _write_outputs(out, summary, pools)
    return summary


def _write_outputs(out, summary, pools):
    write_summary(out, summary)
    write_protocol_csv(out / "protocols.csv", summary["protocols"])
    for task, agents in summary["curves"].items():
        plot_curves(out / f"curves_{task}.png", f"{task}: validation accuracy", agents,
                    summary["baselines"][task], "accuracy", ylabel="validation accuracy",
                    n_pool=pools[task.rsplit("-", 1)[0]])
    for task, entry in summary["savings"].items():
        plot_savings(out / f"savings_{task}.png",
                     f"{task}: labels to match {entry['reference']}'s accuracy", entry)
    plot_headline(out / "headline.png", summary["headline"],
                  "GLUE: labels to match the tuned baseline")


def format_summary(summary):
    """The GLUE per-task table, headline and checks as text."""
    parts = [format_protocol_table(summary["protocols"]),
             format_savings(summary.get("savings", {})), _format_summary(summary, ["accuracy", "log_loss"])]
    return "\n\n".join(part for part in parts if part)

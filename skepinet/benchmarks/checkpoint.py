"""Size and time of the safe checkpoints, for the models people checkpoint.

Three cases: an epinet on the offline MiniLM with its encoder frozen (the
checkpoint holds the head), the same epinet fine-tuned (the encoder and its
Adam moments too), and an MLP epinet learner at 10,000 labels (the taught
rows and labels grow with the run). For each: the file size, the time of
``save`` and of ``load`` (the minimum over repeats, with the median), and
the size of the answer journal the run wrote.
"""

import os
import statistics
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from ..datasets import make_testbed_classification
from ..estimators import EpinetClassifier
from ..learner import ActiveLearner
from ..persistence import load_estimator, save_estimator
from ..strategies import variance
from .common import environment, option

__all__ = ["CheckpointDefaults", "checkpoint_cost", "format_checkpoint_cost"]

_WORDS = ("good great fine bad awful poor the movie plot was very quite and it really a "
          "story acting film").split()


def _sentences(n, seed=0):
    """Short texts with a word-level label: enough for a checkpoint, no download."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(_WORDS, size=rng.integers(5, 15))) for _ in range(n)]
    y = np.array([int(("good" in t) or ("great" in t)) for t in texts])
    return texts, y


def _timed(call, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _measure(name, save, load, path, repeats, **extra):
    save()  # warm: first-call costs are not the checkpoint's
    save_times = _timed(save, repeats)
    load_times = _timed(load, repeats)
    return {"case": name, "bytes": os.path.getsize(path),
            "save_s": min(save_times), "save_median_s": statistics.median(save_times),
            "load_s": min(load_times), "load_median_s": statistics.median(load_times), **extra}


def _text_case(folder, freeze, n_train, pretrained, repeats):
    texts, y = _sentences(n_train)
    estimator = EpinetClassifier(backbone="bert", pretrained=pretrained, freeze_encoder=freeze,
                                 max_epochs=1, batch_size=16, max_length=32, random_state=0)
    start = time.perf_counter()
    estimator.fit(texts, y)
    fit_s = time.perf_counter() - start
    path = os.path.join(folder, f"minilm-{'frozen' if freeze else 'finetuned'}.skepinet")
    name = f"MiniLM epinet, encoder {'frozen' if freeze else 'fine-tuned'}"
    return _measure(name, lambda: save_estimator(estimator, path),
                    lambda: load_estimator(path), path, repeats,
                    parameters=sum(p.numel() for p in estimator.module_.parameters()),
                    fit_s=fit_s)


def _learner_case(folder, n_labels, repeats):
    X, y = make_testbed_classification(2 * n_labels, n_features=10, random_state=0)
    learner = ActiveLearner(EpinetClassifier(random_state=0), variance, random_state=0)
    path = os.path.join(folder, "learner.skepinet")
    start = time.perf_counter()
    # Large steps: the checkpoint's content, not the loop, is measured here.
    learner.run(X, y, n_labels, candidate_size=2000, acquisition_size=1000, n_index=10,
                checkpoint=path, progress=False)
    run_s = time.perf_counter() - start
    journal = path + ".journal.jsonl"
    return _measure(f"MLP epinet learner, {n_labels:,} labels", lambda: learner.save(path),
                    lambda: ActiveLearner.load(path), path, repeats,
                    labels=learner.run_state_.n_labelled, run_s=run_s,
                    journal_bytes=os.path.getsize(journal))


@dataclass(frozen=True)
class CheckpointDefaults:
    """Settings of ``skepinet-bench checkpoint`` and :func:`checkpoint_cost`.

    :meth:`quick` gives the smoke test's.
    """

    n_labels: int = option(10_000, "labels of the MLP learner's run", int)
    no_text: bool = option(False, "skip the MiniLM cases")
    pretrained: str = option(None, "text encoder", shown="MiniLM")
    repeats: int = option(5, "timed repeats", int)
    folder: str = option(None, "where files are written", shown="a temporary folder")
    # Not an option (--quick sets it).
    n_train: int = 64

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_labels=200, repeats=1, n_train=8)


def checkpoint_cost(*, n_labels=CheckpointDefaults.n_labels, n_train=CheckpointDefaults.n_train,
                    pretrained=None, text=True, repeats=CheckpointDefaults.repeats, folder=None):
    """Measure checkpoint size, save and load time (see the module docstring).

    The defaults are :class:`CheckpointDefaults`' (the command line's).

    Parameters
    ----------
    n_labels : int
        Labels of the MLP learner's run.
    n_train : int
        Sentences the MiniLM epinets are fitted on (one epoch).
    pretrained : str or None (default=None)
        Hugging Face model name or folder; ``None`` is the offline MiniLM.
    text : bool (default=True)
        Include the MiniLM cases (they need transformers).
    repeats : int
        Timed saves and loads per case.
    folder : str or None (default=None)
        Where the files are written; a temporary folder by default (its
        disk is part of what is measured).

    Returns
    -------
    result : dict
        ``{"cases": [...], "environment": {...}}``.
    """
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cases = []
        if text:
            cases += [_text_case(tmp, freeze, n_train, pretrained, repeats)
                      for freeze in (True, False)]
        cases.append(_learner_case(tmp, n_labels, repeats))
    return {"cases": cases, "repeats": repeats, "environment": environment("cpu", load_before)}


def format_checkpoint_cost(result):
    """The measurements as a text table."""
    lines = [f"{'case':<40} {'size':>10} {'save':>16} {'load':>16}",
             f"{'':<40} {'':>10} {'min (median)':>16} {'min (median)':>16}"]
    for case in result["cases"]:
        size = case["bytes"] / 2**20
        lines.append(f"{case['case']:<40} {size:>7.2f} MiB "
                     f"{case['save_s'] * 1e3:>7.0f} ({case['save_median_s'] * 1e3:>4.0f}) ms "
                     f"{case['load_s'] * 1e3:>6.0f} ({case['load_median_s'] * 1e3:>4.0f}) ms")
        if "journal_bytes" in case:
            lines.append(f"{'  its answer journal':<40} {case['journal_bytes'] / 2**20:>7.2f} MiB")
    return "\n".join(lines)

"""The state of an online labelling run, and the guards around its inputs and files.

:class:`RunState` is what :meth:`skepinet.ActiveLearner.run` keeps between
steps and what its checkpoint stores: which pool rows are labelled, with
which answers, and how far the run got. The functions here check, before
anyone is asked a question, that the pool and evaluation set can be used,
that the run's checkpoint and journal can be written and belong to this
pool, and read back the answers a journal holds that a checkpoint does not.
"""

import dataclasses
import hashlib
import os
import shutil
import warnings

import numpy as np
import scipy.sparse

from . import persistence
from .journal import read_journal
from .utils import n_rows, row_shape

__all__ = [
    "History",
    "RunState",
    "banked_answers",
    "check_checkpoint_folder",
    "check_eval_set",
    "check_finite_pool",
    "check_free_space",
    "journal_path",
    "pool_fingerprint",
    "pool_rows",
    "refuse_to_overwrite_a_run",
]


class History(list):
    """A learning curve: one ``dict`` per acquisition step of :meth:`ActiveLearner.run`.

    Each record has ``step``, ``labels`` (labels used so far),
    ``wall_time`` (seconds since the run started) and, on evaluation steps,
    the metrics (``accuracy``, ``log_loss``).
    """

    def to_frame(self):
        """Return the history as a :class:`pandas.DataFrame`, one row per step."""
        import pandas as pd

        return pd.DataFrame(list(self))

    def plot(self, metric="accuracy", ax=None, label=None, **kwargs):
        """Plot ``metric`` against labels used; returns the matplotlib ``Axes``.

        Parameters
        ----------
        metric : str (default='accuracy')
            A metric recorded in the history.
        ax : matplotlib Axes or None (default=None)
            Where to draw; a new figure when ``None``.
        label : str or None (default=None)
            Legend label.
        **kwargs : dict
            Passed to ``ax.plot``.
        """
        import matplotlib.pyplot as plt

        points = [(r["labels"], r[metric]) for r in self if metric in r]
        if not points:
            raise ValueError(
                f"no {metric!r} in this history; pass X_eval and y_eval to run() "
                f"to record metrics, or plot one of {sorted(self._metrics())}."
            )
        ax = ax if ax is not None else plt.subplots(figsize=(5, 3.5))[1]
        ax.plot(*zip(*points), label=label, **kwargs)
        ax.set_xlabel("labels used")
        ax.set_ylabel(metric.replace("_", " "))
        return ax

    def _metrics(self):
        return {key for record in self for key in record} - {"step", "labels", "wall_time"}


@dataclasses.dataclass(eq=False)
class RunState:
    """Where an :meth:`~skepinet.ActiveLearner.run` stands.

    Parameters
    ----------
    n_pool : int
        Rows in the pool.
    unlabelled : ndarray of bool of shape (n_pool,)
        Rows not labelled yet.
    labelled : list of int
        Pool rows labelled so far, in the order they were asked (a row
        appears once per answer with ``requery``).
    labels : list
        Their answers, in the same order.
    pending : list of int
        Rows whose answers are recorded but not trained on yet (a crash
        between the two); the next ``run`` trains on them first.
    n_labelled : int
        Labels used so far.
    step : int
        Acquisitions so far.
    elapsed : float
        Seconds the run has taken, summed over resumes.
    classes : ndarray or None
        Every label, when known before the first answer.
    pool_fingerprint : str or None
        :func:`pool_fingerprint` of the pool, so a resume over other rows
        is refused.
    sgd_steps : int
        SGD steps taken by the ``'replay'`` recipe.
    refitted_at : int
        Labels the model was fitted on at its last fresh start (its first
        training, or a refit; those the learner held before the run
        included); ``0`` before the first training.
    """

    n_pool: int
    unlabelled: np.ndarray
    labelled: list = dataclasses.field(default_factory=list)
    labels: list = dataclasses.field(default_factory=list)
    pending: list = dataclasses.field(default_factory=list)
    n_labelled: int = 0
    step: int = 0
    elapsed: float = 0.0
    classes: object = None
    pool_fingerprint: object = None
    sgd_steps: int = 0
    refitted_at: int = 0

    @classmethod
    def start(cls, n_pool, classes=None, fingerprint=None):
        """A run over ``n_pool`` rows that has asked nothing yet."""
        return cls(n_pool=n_pool, unlabelled=np.ones(n_pool, dtype=bool),
                   classes=None if classes is None else np.asarray(classes),
                   pool_fingerprint=fingerprint)

    def record(self, rows, labels):
        """Record the answers of one acquisition (not trained on yet)."""
        self.unlabelled[rows] = False
        self.labelled.extend(int(i) for i in rows)
        self.labels.extend(np.asarray(labels).tolist())
        self.pending = [int(i) for i in rows]
        self.n_labelled += len(rows)
        self.step += 1

    def to_dict(self):
        """The state as the checkpoint stores it (plain values and arrays)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record):
        """Rebuild the state from :meth:`to_dict`'s record.

        Checkpoints written before the state was a class stored the same
        keys in a dict, some of them only when set; they load too.
        """
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(record) - names)
        if unknown:
            raise persistence.CheckpointError(
                f"the checkpoint's run state has fields {unknown} this skepinet does not know; "
                "load it with the skepinet version that wrote it."
            )
        return cls(**record)

    def __getitem__(self, key):
        # Kept for code written when run_state_ was a dict.
        warnings.warn(
            f"run_state_[{key!r}] is deprecated: run_state_ is a skepinet.runs.RunState; read "
            f"run_state_.{key}.", FutureWarning, stacklevel=2,
        )
        if key not in {field.name for field in dataclasses.fields(self)}:
            raise KeyError(key)
        return getattr(self, key)


def _numeric_array(X):
    """``X`` as a numeric ndarray when it is one (or a numeric DataFrame), else ``None``."""
    data = X.to_numpy() if hasattr(X, "to_numpy") else X
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc":
        return data
    return None


def pool_fingerprint(X, chunk_rows=65_536):
    """A short hash of a pool's content, read in chunks of rows.

    Numeric arrays (and DataFrames) hash their bytes, dtype and shape; other
    pools (texts, sentence pairs) hash each row's ``repr``.

    Parameters
    ----------
    X : array-like
        The pool.
    chunk_rows : int (default=65536)
        Rows hashed at a time (bounds the memory of a copy).

    Returns
    -------
    fingerprint : str
        16 hexadecimal digits.
    """
    digest = hashlib.sha256()
    data = _numeric_array(X)
    if data is not None:
        digest.update(f"{data.dtype.str}{data.shape}".encode())
        for start in range(0, len(data), chunk_rows):
            digest.update(np.ascontiguousarray(data[start:start + chunk_rows]).tobytes())
    else:
        digest.update(f"{len(X)}".encode())
        rows = X.to_numpy() if hasattr(X, "to_numpy") else X
        for row in rows:
            digest.update(repr(row.tolist() if hasattr(row, "tolist") else row).encode())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def pool_rows(X_pool):
    """Rows of a pool that :meth:`~skepinet.ActiveLearner.run` can label one by one.

    Refuses the kinds it cannot: a dict (a tokenizer's output: rows tokenized
    apart are padded to different widths) and a sparse matrix (the networks
    take dense rows), each with the way out.
    """
    if isinstance(X_pool, dict):
        raise TypeError(
            "X_pool is a dict (a tokenizer's output?); run() labels rows of texts: pass the "
            "texts themselves, a list of str or of (str, str) pairs, and the estimator "
            "tokenizes each batch."
        )
    if scipy.sparse.issparse(X_pool):
        raise TypeError(
            f"X_pool is a sparse {type(X_pool).__name__}; skepinet's networks take dense rows: "
            "pass X_pool.toarray(), or reduce it first (e.g. TruncatedSVD) if it is too big."
        )
    return n_rows(X_pool)


def check_finite_pool(X, chunk_rows=65_536):
    """Refuse a numeric pool with NaN or infinity, naming the first such row."""
    data = _numeric_array(X)
    if data is None:
        return
    for start in range(0, len(data), chunk_rows):
        bad = ~np.isfinite(data[start:start + chunk_rows])
        if bad.any():
            row = start + int(np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))[0])
            raise ValueError(
                f"X_pool row {row} holds NaN or infinity; drop or impute such rows before "
                "run(), so that no label is asked for a row the model cannot score."
            )


def check_eval_set(X_eval, y_eval, X_pool):
    """Refuse an evaluation set whose labels or rows do not fit it or the pool."""
    if (X_eval is None) != (y_eval is None):
        raise ValueError("pass both X_eval and y_eval, or neither.")
    if X_eval is not None and n_rows(X_eval) != len(y_eval):
        raise ValueError(
            f"X_eval has {n_rows(X_eval)} rows but y_eval has {len(y_eval)} labels; pass "
            "one label per evaluation row."
        )
    eval_row, pool_row = row_shape(X_eval), row_shape(X_pool)  # None for X_eval=None
    if eval_row is not None and pool_row is not None and eval_row != pool_row:
        raise ValueError(
            f"X_eval has rows of shape {eval_row} but X_pool's have shape {pool_row}; "
            "evaluate on rows with the pool's features."
        )


def check_checkpoint_folder(path, name="checkpoint"):
    """Refuse a checkpoint (or journal) path whose folder is missing or read-only."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise ValueError(
            f"{name}={os.fspath(path)!r}: the folder {folder!r} does not exist; "
            "create it first, so that no answer is asked before it can be saved."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}={os.fspath(path)!r}: the folder {folder!r} is not writable; "
            "choose a folder you can write to."
        )


def journal_path(journal, checkpoint):
    """The journal a run writes: ``journal``, else the checkpoint's, else none."""
    if journal is not None:
        return os.fspath(journal)
    return None if checkpoint is None else os.fspath(checkpoint) + ".journal.jsonl"


def refuse_to_overwrite_a_run(checkpoint):
    """A fresh learner must not replace a checkpoint that holds someone's answers."""
    if not os.path.exists(checkpoint):
        return
    state = persistence.read_manifest(checkpoint)["learner"]["run_state"]
    if state is not None:
        raise ValueError(
            f"checkpoint={os.fspath(checkpoint)!r} already holds a run with "
            f"{state['n_labelled']} labels, and this learner has none. Resume it with "
            "ActiveLearner.load(checkpoint).run(...), or pass another checkpoint path."
        )


def banked_answers(journal, fingerprint, state):
    """Answers in the journal that the run state does not hold yet, by step.

    Parameters
    ----------
    journal : str or path-like
    fingerprint : str
        The pool's :func:`pool_fingerprint`; a journal about another pool is
        refused.
    state : RunState

    Returns
    -------
    banked : dict
        ``{step: {"rows": [...] or None, "answers": {row: label}}}``.
    """
    banked, counts = {}, {}
    for row in state.labelled:
        counts[row] = counts.get(row, 0) + 1
    # Rows asked once (with requery a row may hold several different answers).
    known = {r: y for r, y in zip(state.labelled, state.labels) if counts[r] == 1}
    records = read_journal(journal)
    foreign = sorted({r["event"] for r in records} - {"ask", "answer"})
    if foreign:
        raise ValueError(
            f"the journal {journal} holds {foreign} records, written by the labelling app "
            "(skepinet label); a run() cannot replay them. Pass another journal path, or "
            "export the labels with skepinet label --export."
        )
    for record in records:
        if record.get("pool") != fingerprint:
            raise ValueError(
                f"the journal {journal} holds answers about another pool (fingerprint "
                f"{record.get('pool')}, this X_pool's is {fingerprint}): resume with the same "
                "rows in the same order, or pass another journal (or checkpoint) path."
            )
        step = record["step"]
        if step <= state.step:
            # Already in the run state; a disagreement means another run's journal.
            row = record.get("row")
            if record["event"] == "answer" and row in known and known[row] != record["label"]:
                raise ValueError(
                    f"the journal {journal} says pool row {row} was answered "
                    f"{record['label']!r}, the checkpoint says {known[row]!r}: they belong to "
                    "different runs. Pass the journal of this checkpoint."
                )
            continue
        entry = banked.setdefault(step, {"rows": None, "answers": {}})
        if record["event"] == "ask":
            entry["rows"] = [int(r) for r in record["rows"]]
        else:
            entry["answers"][int(record["row"])] = record["label"]
    return banked


def check_free_space(checkpoint, X_pool, labels_left):
    """Refuse a run whose checkpoints and journal would not fit on the disk."""
    data = _numeric_array(X_pool)
    row_bytes = data.nbytes / max(len(data), 1) if data is not None else 1_000
    # Each label adds a row to the checkpoint, and an answer line to the journal.
    needed = os.path.getsize(checkpoint) + labels_left * (row_bytes + 400)
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(checkpoint))).free
    if free < needed:
        raise OSError(
            f"the disk holding checkpoint={os.fspath(checkpoint)!r} has {free / 1e6:.1f} MB "
            f"free, and this run's checkpoints and journal need about {needed / 1e6:.1f} MB; "
            "free some space or checkpoint elsewhere. Nothing was asked."
        )

"""The active learner: modAL's interface, and the paper's online Algorithm 1.

:class:`ActiveLearner` is a drop-in for ``modAL.models.ActiveLearner``
(``query``, ``teach``, ``fit``, ``predict``, ``predict_proba``, ``score``)
that works on current scikit-learn, numpy and pandas. Its :meth:`~ActiveLearner.run`
method is Osband et al.'s Algorithm 1: draw ``N`` candidates, score them,
reveal the top ``n`` labels, train online; repeat until the label budget is
spent. Every answer is written to a journal as it arrives, and runs checkpoint
atomically in a format that is safe to load (:mod:`skepinet.persistence`),
so a killed run resumes where it stopped without losing a label or asking
for one twice.
"""

import hashlib
import inspect
import os
import shutil
import time
from numbers import Integral, Real

import numpy as np
from sklearn.metrics import accuracy_score, log_loss
from tqdm.auto import tqdm

from . import persistence
from .journal import AnswerJournal, read_journal
from .scoring import QueryContext, as_model, is_fitted
from .strategies import variance
from .utils import DEFAULT_N_INDEX, check_positive_int, n_rows, stack_rows, take_rows

__all__ = ["ActiveLearner", "History", "RECIPES", "pool_fingerprint"]


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


def _check_same_width(X_old, X_new):
    old, new = np.shape(X_old)[1:] if X_old is not None else None, np.shape(X_new)[1:]
    if old is not None and old != new and len(old) and len(new):
        raise ValueError(
            f"teach() got rows of shape {new} but the learner was taught rows of shape {old}; "
            "pass rows with the same features as before."
        )


def _row_shape(X):
    """Shape of one row of a numeric array or frame; ``None`` for texts, lists and dicts."""
    shape = getattr(X, "shape", None)
    dtype = getattr(X, "dtype", None)
    if shape is None or len(shape) < 2 or (dtype is not None and dtype.kind not in "biuf"):
        return None
    return tuple(shape[1:])


def _names_parameter(func, name):
    """Whether ``func`` takes ``name`` explicitly (``**kwargs`` may forward it anywhere)."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _accepts(func, name):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


RECIPES = ("replay", "online", "refit")


def _is_hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


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


def _check_finite_pool(X, chunk_rows=65_536):
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


def _check_checkpoint_folder(path, name="checkpoint"):
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


def _journal_path(journal, checkpoint):
    if journal is not None:
        return os.fspath(journal)
    return None if checkpoint is None else os.fspath(checkpoint) + ".journal.jsonl"


def _refuse_to_overwrite_a_run(checkpoint):
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


def _banked_answers(journal, fingerprint, state):
    """Answers in the journal that the run state does not hold yet, by step.

    Returns ``{step: {"rows": [...] or None, "answers": {row: label}}}``.
    """
    banked, counts = {}, {}
    for row in state["labelled"]:
        counts[row] = counts.get(row, 0) + 1
    # Rows asked once (with requery a row may hold several different answers).
    known = {r: y for r, y in zip(state["labelled"], state["labels"]) if counts[r] == 1}
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
        if step <= state["step"]:
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


def _check_free_space(checkpoint, X_pool, labels_left):
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


def _check_recipe(recipe, steps_per_label, n_steps, replay):
    if recipe not in RECIPES:
        raise ValueError(f"recipe={recipe!r} is not a training recipe; choose one of {RECIPES}.")
    if recipe != "online" and (n_steps != 1 or replay is not None):
        raise ValueError(
            f"n_steps and replay set the 'online' recipe, but recipe={recipe!r}; pass "
            "recipe='online' with them, or steps_per_label for the 'replay' recipe."
        )
    if (isinstance(steps_per_label, bool) or not isinstance(steps_per_label, Real)
            or not np.isfinite(steps_per_label) or steps_per_label <= 0):
        raise ValueError(
            f"steps_per_label must be a positive number, got {steps_per_label!r}; "
            "e.g. steps_per_label=1.0 (one SGD step per label acquired)."
        )


def _is_iterator(result):
    return hasattr(result, "__next__") and not isinstance(result, np.ndarray)


def _check_answer_count(labels, rows):
    if labels.ndim != 1 or len(labels) != len(rows):
        given = (f"{len(labels)} labels" if labels.ndim == 1 else "no list of labels"
                 if labels.ndim == 0 else f"an array of shape {labels.shape}")
        raise ValueError(
            f"the oracle returned {given} for {len(rows)} rows; return exactly one label "
            "per requested row. Nothing was recorded for this step."
        )


def _check_classes(classes):
    if classes is None:
        return
    labels = np.asarray(classes)
    if labels.ndim != 1 or len(labels) < 2 or len(np.unique(labels)) != len(labels):
        raise ValueError(
            f"classes must list every label once, at least 2 of them; got {classes!r}. "
            "Pass e.g. classes=[0, 1] or classes=['neg', 'pos']."
        )


def _check_answer(known, row, label, saved=0):
    """Refuse a wrong answer before it is recorded, naming its row and value."""
    if known is None:
        return
    if not _is_hashable(label) or label not in known:
        kept = (f" The {saved} answers before it are saved and will not be asked again."
                if saved else " Nothing was recorded for this step.")
        raise ValueError(
            f"the oracle answered {label!r} ({type(label).__name__}) for pool row {int(row)}, "
            f"which is not one of the classes {sorted(known, key=str)}.{kept} Answer with one "
            "of the classes, of the same type, and call run() again."
        )


class ActiveLearner:
    """A pool-based active learner with modAL's interface.

    Parameters
    ----------
    estimator : classifier
        A skepinet estimator (or ``Pipeline`` ending in one), or any
        scikit-learn classifier for marginal strategies.
    query_strategy : callable (default=skepinet.strategies.variance)
        ``strategy(learner, X_pool, n_instances, **kwargs) -> (indices, scores)``.
    X_training, y_training : array-like or None (default=None)
        Initial labelled data; when given, the estimator is fitted on it.
    random_state : int, RandomState, Generator or None (default=None)
        Seeds candidate draws and tie-breaking in queries.
    **fit_kwargs : dict
        Passed to the estimator's ``fit``.

    Attributes
    ----------
    X_training, y_training : array-like or None
        Everything taught so far.
    history_ : History
        The learning curve of :meth:`run`.
    """

    def __init__(self, estimator, query_strategy=variance, X_training=None, y_training=None,
                 random_state=None, **fit_kwargs):
        if not callable(query_strategy):
            raise TypeError(
                f"query_strategy must be a strategy function, got {query_strategy!r} "
                f"({type(query_strategy).__name__}); pass e.g. skepinet.variance, or any "
                "modAL-style strategy(classifier, X_pool, n_instances)."
            )
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.X_training = X_training
        self.y_training = y_training
        self.random_state = random_state
        self.fit_kwargs = fit_kwargs
        try:
            self.rng_ = np.random.default_rng(
                random_state.integers(2**63) if isinstance(random_state, np.random.Generator)
                else random_state.randint(2**31)
                if isinstance(random_state, np.random.RandomState) else random_state
            )
        except (TypeError, ValueError):
            raise ValueError(
                f"random_state must be None, an int, or a numpy Generator / RandomState, got "
                f"{random_state!r}; e.g. random_state=0."
            ) from None
        self.history_ = History()
        self.run_state_ = None
        if X_training is not None:
            self.fit(X_training, y_training, **fit_kwargs)

    # -- modAL interface ---------------------------------------------------------

    def fit(self, X, y, **fit_kwargs):
        """Replace the training data with ``(X, y)`` and fit on it from scratch.

        Returns
        -------
        self : ActiveLearner
        """
        self.estimator.fit(X, y, **{**self.fit_kwargs, **fit_kwargs})
        self.X_training, self.y_training = X, y
        return self

    def teach(self, X, y, only_new=False, **fit_kwargs):
        """Add labelled rows and train on them.

        Parameters
        ----------
        X : array-like of shape (n_new, ...)
            The new rows.
        y : array-like of shape (n_new,)
            Their labels.
        only_new : bool (default=False)
            ``False`` refits on everything taught so far (modAL's default);
            ``True`` trains incrementally on the new rows with
            ``partial_fit``, keeping what the model has learnt.
        **fit_kwargs : dict
            Passed to ``fit`` / ``partial_fit``.

        Returns
        -------
        self : ActiveLearner
        """
        if y is None:
            raise ValueError("teach() needs the labels y of the new rows, got y=None.")
        if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "biuf":
            raise ValueError(
                f"teach() takes a 2-D array of rows; X has shape {X.shape}. For one row pass "
                "X[[i]] or x.reshape(1, -1)."
            )
        _check_same_width(self.X_training, X)
        if n_rows(X) != len(y):
            raise ValueError(f"teach() got {n_rows(X)} rows and {len(y)} labels; pass one "
                             "label per row.")
        X_all, y_all = stack_rows(self.X_training, X), stack_rows(self.y_training, y)
        if only_new:
            if not hasattr(self.estimator, "partial_fit"):
                raise TypeError(
                    f"only_new=True needs an estimator with partial_fit; "
                    f"{type(self.estimator).__name__} has none. Use only_new=False."
                )
            self.estimator.partial_fit(X, y, **fit_kwargs)
        else:
            self.estimator.fit(X_all, y_all, **{**self.fit_kwargs, **fit_kwargs})
        self.X_training, self.y_training = X_all, y_all
        return self

    def query(self, X_pool, *query_args, return_metrics=False, **query_kwargs):
        """Pick the rows of ``X_pool`` to label next.

        Parameters
        ----------
        X_pool : array-like
            Unlabelled rows.
        *query_args, **query_kwargs
            Passed to the query strategy (e.g. ``n_instances=10``). Unless
            given, ``random_state`` is drawn from the learner's own stream, so
            a seeded learner makes the same queries every run.
        return_metrics : bool (default=False)
            Also return the strategy's scores.

        Returns
        -------
        indices : ndarray of int
            Positions in ``X_pool``.
        rows : array-like
            ``X_pool[indices]``.
        scores : ndarray
            Only with ``return_metrics=True``.
        """
        # Only keywords a strategy names: modAL's forward **kwargs to predict_proba.
        rng_state = self.rng_.bit_generator.state
        if "random_state" not in query_kwargs and _names_parameter(self.query_strategy,
                                                                   "random_state"):
            query_kwargs["random_state"] = int(self.rng_.integers(2**31))
        try:
            indices, scores = self.query_strategy(self, X_pool, *query_args, **query_kwargs)
        except BaseException:
            # A rejected query must not shift the queries that follow.
            self.rng_.bit_generator.state = rng_state
            raise
        rows = take_rows(X_pool, indices)
        return (indices, rows, scores) if return_metrics else (indices, rows)

    def query_context(self):
        """What a query strategy scores with: the estimator and the rows taught so far.

        Strategies (through :func:`skepinet.scoring.as_model`) look through
        the learner to this, rather than to its attributes.

        Returns
        -------
        context : skepinet.scoring.QueryContext
        """
        return QueryContext(self.estimator, self.X_training)

    def predict(self, X):
        """The estimator's predictions."""
        return self.estimator.predict(X)

    def predict_proba(self, X):
        """The estimator's class probabilities."""
        return self.estimator.predict_proba(X)

    def predict_proba_joint(self, X, n_index=DEFAULT_N_INDEX):
        """The estimator's joint prediction, ``(n_index, n_samples, n_classes)``.

        Works through a ``Pipeline`` ending in a skepinet estimator.
        """
        model = as_model(self.estimator)
        model.require_enn("predict_proba_joint")
        return model.joint(X, n_index)

    def embed(self, X):
        """The estimator's backbone features (through a ``Pipeline`` too)."""
        return as_model(self.estimator).features(X)

    def score(self, X, y):
        """Mean accuracy of the estimator on ``(X, y)``."""
        return self.estimator.score(X, y)

    # -- the paper's Algorithm 1 -------------------------------------------------

    def run(self, X_pool, oracle, budget, *, candidate_size=100, acquisition_size=10,
            recipe="replay", steps_per_label=1.0, n_steps=1, replay=None, requery=False,
            n_index=DEFAULT_N_INDEX, classes=None, X_eval=None, y_eval=None, eval_every=1,
            checkpoint=None, checkpoint_every=1, journal=None, progress=True):
        """Label up to ``budget`` rows of ``X_pool`` online (paper Algorithm 1).

        At each step: draw ``candidate_size`` (N) unlabelled rows uniformly
        without replacement, score them with the query strategy, reveal the
        labels of the top ``acquisition_size`` (n), and train on what is
        labelled so far as ``recipe`` says. A row is labelled at most once
        (unless ``requery``); the budget is met exactly (the last acquisition
        is cut to fit).

        The recipes:

        ``'replay'`` (default; the reference code's)
            ``steps_per_label`` SGD steps per label acquired, each on a
            minibatch of the estimator's ``batch_size`` drawn with
            replacement from every label so far. Training grows with the
            labels, so the first labels are not drilled hundreds of times,
            and a ``prior_precision`` keeps the weight decay a fixed prior.
        ``'online'``
            ``n_steps`` epochs on the new batch plus ``replay`` earlier
            labels (all of them when ``None``: a warm-started re-fit).
        ``'refit'``
            Re-initialise and fit on every label so far each step (the
            estimator's ``max_epochs``): the common pool-based recipe.

        Parameters
        ----------
        X_pool : array-like of shape (n_pool, ...)
            Unlabelled inputs.
        oracle : array-like of shape (n_pool,) or callable
            The labels of ``X_pool``, or ``oracle(rows, indices) -> labels``
            (e.g. a function that asks a person). A callable may also
            *yield* the labels one at a time (a generator): each answer is
            then checked and journalled as it arrives, so a person answering
            row by row loses nothing when the process dies mid-batch.
        budget : int
            Labels to reveal in total (including earlier runs of a resumed
            learner).
        candidate_size : int (default=100)
            Candidates scored per step (N).
        acquisition_size : int (default=10)
            Labels revealed per step (n <= N).
        recipe : {'replay', 'online', 'refit'} (default='replay')
            How the model trains after each acquisition (above).
        steps_per_label : float (default=1.0)
            ``recipe='replay'``: SGD steps per label acquired (fractions
            accumulate across steps).
        n_steps : int (default=1)
            ``recipe='online'``: training epochs on each acquired batch (one
            gradient step each when the batch fits in ``batch_size``).
        replay : int or None (default=None)
            ``recipe='online'``: earlier-labelled rows, drawn at random,
            trained on together with each new batch. ``0`` is the paper's
            pure online update on the new batch only; ``None`` rehearses
            every label so far.
        requery : bool (default=False)
            Rows stay choosable after they are labelled, and each choice asks
            the oracle again: the reference code's bandit protocol, for
            oracles whose answers are noisy draws (a callable oracle).
        n_index : int (default=100)
            Index samples for scoring.
        classes : array-like or None (default=None)
            Every label; required with a callable oracle on an unfitted model.
        X_eval, y_eval : array-like or None (default=None)
            Evaluation set for accuracy and log-loss.
        eval_every : int (default=1)
            Evaluate every this many steps (and at the end).
        checkpoint : str, path or None (default=None)
            Save the learner here, atomically and in the safe format, at the
            start and after every acquisition;
            ``ActiveLearner.load(checkpoint).run(...)`` resumes. A file that
            already holds a run is not overwritten by a fresh learner.
        checkpoint_every : int (default=1)
            Save the checkpoint after every ``checkpoint_every``-th
            acquisition (and at the end). Answers are safe in the journal
            either way; a resume retrains the steps since the last
            checkpoint, with the same result. Raise it when saving is slow
            next to a step (a fine-tuned encoder's checkpoint holds its
            weights and Adam moments: about 1 s for MiniLM on a CPU).
        journal : str, path or None (default=None)
            The answer journal (:mod:`skepinet.journal`): every answer is
            appended and fsynced here as it arrives, and replayed when the
            run resumes, so no answer is lost or asked twice whenever the
            process dies. Defaults to ``<checkpoint>.journal.jsonl`` with a
            checkpoint; give a path to journal without one (a fresh learner
            with the same ``random_state`` then replays the answers).
        progress : bool (default=True)
            Show a progress bar of labels used.

        Returns
        -------
        history : History
            Labels used, wall time and metrics per step.
        """
        budget = check_positive_int(budget, "budget", 100)
        candidate_size = check_positive_int(candidate_size, "candidate_size", 100)
        acquisition_size = check_positive_int(acquisition_size, "acquisition_size", 10)
        n_steps = check_positive_int(n_steps, "n_steps", 1)
        _check_recipe(recipe, steps_per_label, n_steps, replay)
        if requery and not callable(oracle):
            raise ValueError(
                "requery=True asks the oracle again about rows already labelled; a fixed array "
                "of labels would only repeat them. Pass a callable oracle(rows, indices) that "
                "draws a fresh answer, or requery=False."
            )
        if not hasattr(self.estimator, "partial_fit"):
            raise TypeError(
                f"run() trains online with partial_fit, which {type(self.estimator).__name__} "
                "lacks; use a skepinet estimator (scale inputs beforehand instead of in a "
                "Pipeline), or the query/teach loop."
            )
        if acquisition_size > candidate_size:
            raise ValueError(
                f"acquisition_size={acquisition_size} exceeds candidate_size={candidate_size}: "
                "the top n are chosen among N candidates, so n <= N."
            )
        # Everything is checked before the oracle is asked and before any run state exists,
        # so a rejected call costs no answer and leaves the learner as it was.
        n_pool = len(X_pool)
        labels_of = self._make_oracle(oracle, n_pool)
        if (X_eval is None) != (y_eval is None):
            raise ValueError("pass both X_eval and y_eval, or neither.")
        if X_eval is not None and n_rows(X_eval) != len(y_eval):
            raise ValueError(
                f"X_eval has {n_rows(X_eval)} rows but y_eval has {len(y_eval)} labels; pass "
                "one label per evaluation row."
            )
        eval_row, pool_row = _row_shape(X_eval), _row_shape(X_pool)  # None for X_eval=None
        if eval_row is not None and pool_row is not None and eval_row != pool_row:
            raise ValueError(
                f"X_eval has rows of shape {eval_row} but X_pool's have shape {pool_row}; "
                "evaluate on rows with the pool's features."
            )
        if replay is not None:
            if isinstance(replay, bool) or not isinstance(replay, Integral) or replay < 0:
                raise ValueError(f"replay must be None or a non-negative integer, got "
                                 f"{replay!r}; e.g. replay=100.")
        n_index = check_positive_int(n_index, "n_index", DEFAULT_N_INDEX)
        eval_every = check_positive_int(eval_every, "eval_every", 1)
        checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every", 1)
        _check_classes(classes)
        journal = _journal_path(journal, checkpoint)
        _check_checkpoint_folder(checkpoint)
        _check_checkpoint_folder(journal, "journal")
        _check_finite_pool(X_pool)
        fingerprint = pool_fingerprint(X_pool)
        fresh = self.run_state_ is None
        state, banked = self._prepare_run(n_pool, budget, oracle, classes, fingerprint,
                                          checkpoint, journal, X_pool)
        answers = None if journal is None else AnswerJournal(journal, fingerprint)
        train = dict(recipe=recipe, steps_per_label=float(steps_per_label), n_steps=n_steps,
                     replay=replay)
        if state["pending"]:  # labels revealed before a crash, not yet trained on
            self._train_on(X_pool, state, **train)
            # The step's record was never written: the curve keeps every step.
            self._log_step(state, state["elapsed"], X_eval, y_eval, eval_every,
                           final=state["n_labelled"] >= budget)

        bar = tqdm(total=budget, initial=state["n_labelled"], unit="label",
                   disable=not progress, desc="labelling")
        start = time.perf_counter() - state["elapsed"]
        try:
            while state["n_labelled"] < budget and (requery or state["unlabelled"].any()):
                step = state["step"] + 1
                rng_before = self.rng_.bit_generator.state
                try:
                    chosen = self._acquire(X_pool, state, candidate_size,
                                           min(acquisition_size, budget - state["n_labelled"]),
                                           n_index, requery)
                    chosen, labels = self._ask(X_pool, state, step, chosen, labels_of,
                                               banked.pop(step, None), answers)
                except BaseException:
                    # Nothing was recorded: the next call draws the same candidates again
                    # (and the journal already pins this step's rows and answers).
                    self.rng_.bit_generator.state = rng_before
                    raise
                self._record_labels(state, chosen, labels)
                state["elapsed"] = time.perf_counter() - start
                if checkpoint is not None and step % checkpoint_every == 0:
                    self.save(checkpoint)
                self._train_on(X_pool, state, **train)
                self._log_step(state, time.perf_counter() - start, X_eval, y_eval, eval_every,
                               final=state["n_labelled"] >= budget)
                bar.update(len(chosen))
        except BaseException:
            if fresh and state["n_labelled"] == 0 and not state["pending"]:
                # Nothing recorded: no run began (answers given are in the journal).
                self.run_state_ = None
            raise
        finally:
            bar.close()
        state["elapsed"] = time.perf_counter() - start
        if checkpoint is not None:
            self.save(checkpoint)
        return self.history_

    def _prepare_run(self, n_pool, budget, oracle, classes, fingerprint, checkpoint, journal,
                     X_pool):
        """Run state, answers banked in the journal, and a first checkpoint; or no change."""
        previous = self.run_state_
        if previous is None and checkpoint is not None:
            _refuse_to_overwrite_a_run(checkpoint)
        try:
            state = self._resume_or_start(n_pool, budget, oracle, classes, fingerprint)
            banked = {} if journal is None else _banked_answers(journal, fingerprint, state)
            if checkpoint is not None:
                # Proves the folder takes the file and the learner stores safely, before
                # anyone is asked; then the disk must hold the run's growth too.
                self.save(checkpoint)
                _check_free_space(checkpoint, X_pool, budget - state["n_labelled"])
        except BaseException:
            self.run_state_ = previous
            raise
        return state, banked

    def _make_oracle(self, oracle, n_pool):
        if callable(oracle):
            return oracle  # its answers are checked (and an iterator taken one by one) in _ask
        labels = np.asarray(oracle)
        if len(labels) != n_pool:
            raise ValueError(
                f"oracle has {len(labels)} labels but X_pool has {n_pool} rows; pass the "
                "labels of every pool row, or a callable oracle(rows, indices)."
            )
        return lambda rows, indices: labels[indices]

    def _resume_or_start(self, n_pool, budget, oracle, classes, fingerprint=None):
        state = self.run_state_
        if state is not None:
            if state["n_pool"] != n_pool:
                raise ValueError(
                    f"this learner's run was over a pool of {state['n_pool']} rows, not "
                    f"{n_pool}: resume with the same X_pool, or start a new ActiveLearner."
                )
            saved = state.get("pool_fingerprint")
            if saved is not None and fingerprint is not None and saved != fingerprint:
                raise ValueError(
                    f"this learner's run was over another pool of {n_pool} rows (fingerprint "
                    f"{saved}, this X_pool's is {fingerprint}): resume with the same rows in "
                    "the same order, or start a new ActiveLearner."
                )
            return state
        if classes is None and not callable(oracle):
            classes = np.unique(np.asarray(oracle))
        if classes is None and not is_fitted(self.estimator):
            raise ValueError(
                "with a callable oracle and an unfitted estimator, pass every label with "
                "run(..., classes=[...]): the first answers may not contain them all."
            )
        self.run_state_ = state = {
            "n_pool": n_pool,
            "unlabelled": np.ones(n_pool, dtype=bool),
            "labelled": [],
            "labels": [],
            "pending": [],
            "n_labelled": 0,
            "step": 0,
            "elapsed": 0.0,
            "classes": None if classes is None else np.asarray(classes),
            "pool_fingerprint": fingerprint,
        }
        return state

    def _acquire(self, X_pool, state, candidate_size, n_acquire, n_index, requery=False):
        pool = np.arange(state["n_pool"]) if requery else np.flatnonzero(state["unlabelled"])
        candidates = self.rng_.choice(pool, size=min(candidate_size, len(pool)), replace=False)
        n_acquire = min(n_acquire, len(candidates))
        if not self._is_trained():
            # Nothing to score with yet: the first acquisition is uniform.
            return candidates[:n_acquire]
        picked, _ = self.query(take_rows(X_pool, candidates), n_instances=n_acquire,
                               **({"n_index": n_index} if _names_parameter(self.query_strategy, "n_index")
                                  else {}))
        return candidates[np.asarray(picked)]

    def _is_trained(self):
        return self.y_training is not None or is_fitted(self.estimator)

    def _ask(self, X_pool, state, step, chosen, labels_of, banked, journal):
        """The labels of ``chosen``: from the journal when it has them, else from the oracle.

        Every answer is checked, then journalled, before the next is taken.
        Returns the rows asked (the journal's, for a step begun before a
        crash) and their labels.
        """
        if banked is not None and banked["rows"] is not None:
            chosen = np.asarray(banked["rows"])
        elif journal is not None:
            journal.ask(step, chosen)
        answers = {} if banked is None else dict(banked["answers"])
        missing = np.asarray([r for r in chosen if int(r) not in answers], dtype=int)
        if len(missing):
            known = self._known_classes(state)
            result = labels_of(take_rows(X_pool, missing), missing)
            if _is_iterator(result):
                self._take_answers_one_by_one(result, missing, step, known, journal, answers)
            else:
                labels = np.asarray(result)
                _check_answer_count(labels, missing)
                for row, label in zip(missing, labels.tolist()):
                    _check_answer(known, row, label)
                if journal is not None:
                    journal.answer(step, missing, labels.tolist())
                answers.update(zip(missing.tolist(), labels.tolist()))
        return chosen, np.asarray([answers[int(r)] for r in chosen])

    def _take_answers_one_by_one(self, result, missing, step, known, journal, answers):
        given = 0
        try:
            for row, label in zip(missing.tolist(), result):
                label = label.item() if isinstance(label, np.generic) else label
                _check_answer(known, row, label, saved=given)
                if journal is not None:
                    journal.answer(step, [row], [label])
                answers[row] = label
                given += 1
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if given < len(missing):
            raise ValueError(
                f"the oracle yielded {given} labels for {len(missing)} rows; yield exactly one "
                "label per requested row. The answers given are saved and will not be asked "
                "again."
            )

    def _known_classes(self, state):
        classes = state["classes"]
        if classes is None:
            classes = getattr(self.estimator, "classes_", None)
        return None if classes is None else set(np.asarray(classes).tolist())

    def _record_labels(self, state, chosen, labels):
        state["unlabelled"][chosen] = False
        state["labelled"].extend(int(i) for i in chosen)
        state["labels"].extend(labels.tolist())
        state["pending"] = [int(i) for i in chosen]
        state["n_labelled"] += len(chosen)
        state["step"] += 1

    def _train_on(self, X_pool, state, *, recipe, steps_per_label, n_steps, replay):
        n_new = len(state["pending"])
        n_labelled = len(state["labelled"])
        if recipe == "replay":
            positions, epochs = self._replay_minibatches(state, steps_per_label), 1
        elif recipe == "refit":
            positions, epochs = np.arange(n_labelled), getattr(self.estimator, "max_epochs", 1)
            self._reinitialise()
        else:
            n_old = n_labelled - n_new
            old = np.arange(n_old)
            if replay is not None and replay < n_old:
                old = np.sort(self.rng_.choice(n_old, size=replay, replace=False))
            positions = np.concatenate([old, np.arange(n_old, n_labelled)]).astype(int)
            epochs = n_steps
        if len(positions):
            self._partial_fit(take_rows(X_pool, np.asarray(state["labelled"])[positions]),
                              np.asarray(state["labels"])[positions], epochs, state)
        X_new = take_rows(X_pool, np.asarray(state["pending"]))
        y_new = np.asarray(state["labels"])[n_labelled - n_new:]
        self.X_training, self.y_training = stack_rows(self.X_training, X_new), stack_rows(self.y_training, y_new)
        state["pending"] = []

    def _replay_minibatches(self, state, steps_per_label):
        """Rows (positions in the labels) of this step's SGD minibatches, drawn with replacement."""
        n_labelled, taken = len(state["labelled"]), state.get("sgd_steps", 0)
        # Steps owed so far, minus steps taken: fractions of a step carry over (but the
        # first acquisition always trains).
        owed = int(np.floor(steps_per_label * n_labelled + 1e-9)) - taken
        n_batches = max(owed, int(taken == 0))
        state["sgd_steps"] = taken + n_batches
        batch_size = getattr(self.estimator, "batch_size", None)
        batch_size = batch_size if isinstance(batch_size, Integral) and batch_size > 0 else 128
        return self.rng_.integers(n_labelled, size=n_batches * batch_size)

    def _reinitialise(self):
        if is_fitted(self.estimator) and hasattr(self.estimator, "initialize"):
            self.estimator.initialize()

    def _partial_fit(self, X_step, y_step, epochs, state):
        kwargs = {} if state["classes"] is None else {"classes": state["classes"]}
        if _names_parameter(self.estimator.partial_fit, "n_train"):
            # A replay sample stands for every label so far: a fixed prior's
            # weight decay is divided by all of them, not by the sample.
            kwargs["n_train"] = len(state["labelled"])
        if _accepts(self.estimator.partial_fit, "epochs"):  # skorch: n epochs in one call
            self.estimator.partial_fit(X_step, y_step, epochs=epochs, **kwargs)
        else:
            for _ in range(epochs):
                self.estimator.partial_fit(X_step, y_step, **kwargs)

    def _log_step(self, state, wall_time, X_eval, y_eval, eval_every, final):
        record = {"step": state["step"], "labels": state["n_labelled"], "wall_time": wall_time}
        if X_eval is not None and (state["step"] % eval_every == 0 or final):
            record.update(self.evaluate(X_eval, y_eval))
        self.history_.append(record)

    def evaluate(self, X, y):
        """Accuracy and log-loss of the estimator on ``(X, y)``.

        Returns
        -------
        metrics : dict
            ``{'accuracy': ..., 'log_loss': ...}``.
        """
        proba = np.clip(self.estimator.predict_proba(X), 1e-12, 1)
        classes = getattr(self.estimator, "classes_", None)
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
        return {
            "accuracy": float(accuracy_score(y, predicted)),
            "log_loss": float(log_loss(y, proba / proba.sum(1, keepdims=True), labels=classes)),
        }

    # -- persistence ---------------------------------------------------------------

    def save(self, path):
        """Write the whole learner to ``path``, atomically, in the safe format.

        The file (see :mod:`skepinet.persistence`) holds JSON and
        safetensors, never a pickle, so loading one from someone else runs
        none of their code. It is written beside ``path`` and renamed over
        it: a crash at any moment leaves the previous checkpoint or the new
        one.

        Parameters
        ----------
        path : str or path-like

        Raises
        ------
        TypeError
            When the estimator is not a skepinet estimator, or a parameter,
            strategy or training row cannot be stored without pickling.
        """
        encode = persistence.Encoder()
        random_state = self.random_state if isinstance(self.random_state, (Integral, type(None))) \
            else None  # a RandomState object only seeded rng_, which is stored
        record = {
            "estimator": persistence.encode_estimator(self.estimator, encode,
                                                      "ActiveLearner.estimator"),
            "query_strategy": encode(self.query_strategy, "query_strategy"),
            "random_state": encode(random_state),
            "fit_kwargs": encode(self.fit_kwargs, "fit_kwargs"),
            "X_training": encode(self.X_training, "X_training"),
            "y_training": encode(self.y_training, "y_training"),
            "rng": encode(self.rng_.bit_generator.state),
            "history": encode(list(self.history_)),
            "run_state": encode(self.run_state_, "run state"),
        }
        persistence.write_archive(path, {"kind": "learner", "learner": record}, encode.tensors)

    @classmethod
    def load(cls, path, trusted=()):
        """Load a learner written by :meth:`save`; its next :meth:`run` resumes.

        Nothing in the file is executed: classes and functions it names are
        taken only from torch, skorch, skepinet and modAL, or from
        ``trusted``.

        Parameters
        ----------
        path : str or path-like
        trusted : sequence of classes or functions (default=())
            Objects the file may name outside that allow-list, e.g. your own
            query strategy or module class (as in ``skops.io.load``).

        Returns
        -------
        learner : ActiveLearner

        Raises
        ------
        skepinet.persistence.CheckpointError
            Naming the file and what is wrong: truncated, corrupted (checksum),
            an old pickle, another kind of file, or an untrusted name.
        """
        manifest, decode = persistence.read_archive(path, trusted)
        if manifest.get("kind") != "learner":
            raise persistence.CheckpointError(
                f"{os.fspath(path)} holds a {manifest.get('kind')}, not an {cls.__name__}; load "
                "it with skepinet.persistence.load_estimator."
            )
        record = manifest["learner"]
        learner = cls.__new__(cls)  # __init__ would fit on X_training again
        learner.estimator = persistence.decode_estimator(record["estimator"], decode)
        learner.query_strategy = decode(record["query_strategy"], "strategy")
        learner.random_state = decode(record["random_state"])
        learner.fit_kwargs = decode(record["fit_kwargs"])
        learner.X_training = decode(record["X_training"])
        learner.y_training = decode(record["y_training"])
        learner.rng_ = np.random.default_rng()
        learner.rng_.bit_generator.state = decode(record["rng"])
        learner.history_ = History(decode(record["history"]))
        learner.run_state_ = decode(record["run_state"])
        return learner

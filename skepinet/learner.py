"""The active learner: modAL's interface, and the paper's online Algorithm 1.

:class:`ActiveLearner` is a drop-in for ``modAL.models.ActiveLearner``
(``query``, ``teach``, ``fit``, ``predict``, ``predict_proba``, ``score``)
that works on current scikit-learn, numpy and pandas. Its :meth:`~ActiveLearner.run`
method is Osband et al.'s Algorithm 1: draw ``N`` candidates, score them,
reveal the top ``n`` labels, train online; repeat until the label budget is
spent. Runs checkpoint atomically, so a killed run resumes where it stopped
without losing a label or asking for one twice.
"""

import hashlib
import inspect
import os
import tempfile
import time
from numbers import Integral, Real

import joblib
import numpy as np
from sklearn.metrics import accuracy_score, log_loss
from tqdm.auto import tqdm

from .strategies import _is_fitted, _Model, _require_enn, _take_rows, variance

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


def _stack(a, b):
    if a is None:
        return b
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b], ignore_index=True)
    if isinstance(a, list):
        return a + list(b)
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _check_same_width(X_old, X_new):
    old, new = np.shape(X_old)[1:] if X_old is not None else None, np.shape(X_new)[1:]
    if old is not None and old != new and len(old) and len(new):
        raise ValueError(
            f"teach() got rows of shape {new} but the learner was taught rows of shape {old}; "
            "pass rows with the same features as before."
        )


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


def _check_positive_int(value, name, example):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}; e.g. {name}={example}.")
    return int(value)


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


def _check_checkpoint_folder(checkpoint):
    if checkpoint is None:
        return
    folder = os.path.dirname(os.path.abspath(os.fspath(checkpoint)))
    if not os.path.isdir(folder):
        raise ValueError(
            f"checkpoint={os.fspath(checkpoint)!r}: the folder {folder!r} does not exist; "
            "create it first, so that no answer is asked before it can be saved."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f"checkpoint={os.fspath(checkpoint)!r}: the folder {folder!r} is not writable; "
            "choose a folder you can write to."
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


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows, where folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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

    # Strategies look through the learner to its estimator (see strategies._Model).
    _forwards_to_estimator = True

    def __init__(self, estimator, query_strategy=variance, X_training=None, y_training=None,
                 random_state=None, **fit_kwargs):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.X_training = X_training
        self.y_training = y_training
        self.random_state = random_state
        self.fit_kwargs = fit_kwargs
        self.rng_ = np.random.default_rng(
            random_state.integers(2**63) if isinstance(random_state, np.random.Generator)
            else random_state.randint(2**31) if isinstance(random_state, np.random.RandomState)
            else random_state
        )
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
        _check_same_width(self.X_training, X)
        X_all, y_all = _stack(self.X_training, X), _stack(self.y_training, y)
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
        if "random_state" not in query_kwargs and _names_parameter(self.query_strategy,
                                                                   "random_state"):
            query_kwargs["random_state"] = int(self.rng_.integers(2**31))
        indices, scores = self.query_strategy(self, X_pool, *query_args, **query_kwargs)
        rows = _take_rows(X_pool, indices)
        return (indices, rows, scores) if return_metrics else (indices, rows)

    def predict(self, X):
        """The estimator's predictions."""
        return self.estimator.predict(X)

    def predict_proba(self, X):
        """The estimator's class probabilities."""
        return self.estimator.predict_proba(X)

    def predict_proba_joint(self, X, n_index=100):
        """The estimator's joint prediction, ``(n_index, n_samples, n_classes)``.

        Works through a ``Pipeline`` ending in a skepinet estimator.
        """
        model = _Model(self.estimator)
        _require_enn(model, "predict_proba_joint")
        return model.joint(X, n_index)

    def embed(self, X):
        """The estimator's backbone features (through a ``Pipeline`` too)."""
        return _Model(self.estimator).features(X)

    def score(self, X, y):
        """Mean accuracy of the estimator on ``(X, y)``."""
        return self.estimator.score(X, y)

    # -- the paper's Algorithm 1 -------------------------------------------------

    def run(self, X_pool, oracle, budget, *, candidate_size=100, acquisition_size=10,
            recipe="replay", steps_per_label=1.0, n_steps=1, replay=None, requery=False,
            n_index=100, classes=None, X_eval=None, y_eval=None, eval_every=1,
            checkpoint=None, progress=True):
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
            (e.g. a function that asks a person).
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
            Save the learner here, atomically, after every acquisition;
            ``ActiveLearner.load(checkpoint).run(...)`` resumes.
        progress : bool (default=True)
            Show a progress bar of labels used.

        Returns
        -------
        history : History
            Labels used, wall time and metrics per step.
        """
        budget = _check_positive_int(budget, "budget", 100)
        candidate_size = _check_positive_int(candidate_size, "candidate_size", 100)
        acquisition_size = _check_positive_int(acquisition_size, "acquisition_size", 10)
        n_steps = _check_positive_int(n_steps, "n_steps", 1)
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
        if replay is not None:
            if isinstance(replay, bool) or not isinstance(replay, Integral) or replay < 0:
                raise ValueError(f"replay must be None or a non-negative integer, got "
                                 f"{replay!r}; e.g. replay=100.")
        n_index = _check_positive_int(n_index, "n_index", 100)
        _check_checkpoint_folder(checkpoint)
        _check_finite_pool(X_pool)
        fingerprint = pool_fingerprint(X_pool)
        state = self._resume_or_start(n_pool, budget, oracle, classes, fingerprint)
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
                chosen = self._acquire(X_pool, state, candidate_size,
                                       min(acquisition_size, budget - state["n_labelled"]), n_index,
                                       requery)
                labels = labels_of(_take_rows(X_pool, chosen), chosen)
                self._record_labels(state, chosen, labels)
                state["elapsed"] = time.perf_counter() - start
                if checkpoint is not None:
                    self.save(checkpoint)
                self._train_on(X_pool, state, **train)
                self._log_step(state, time.perf_counter() - start, X_eval, y_eval, eval_every,
                               final=state["n_labelled"] >= budget)
                bar.update(len(chosen))
        finally:
            bar.close()
        state["elapsed"] = time.perf_counter() - start
        if checkpoint is not None:
            self.save(checkpoint)
        return self.history_

    def _make_oracle(self, oracle, n_pool):
        if callable(oracle):
            return lambda rows, indices: np.asarray(oracle(rows, indices))
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
        if classes is None and not _is_fitted(self.estimator):
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
        picked, _ = self.query(_take_rows(X_pool, candidates), n_instances=n_acquire,
                               **({"n_index": n_index} if _names_parameter(self.query_strategy, "n_index")
                                  else {}))
        return candidates[np.asarray(picked)]

    def _is_trained(self):
        return self.y_training is not None or _is_fitted(self.estimator)

    def _record_labels(self, state, chosen, labels):
        self._check_answers(state, chosen, labels)
        state["unlabelled"][chosen] = False
        state["labelled"].extend(int(i) for i in chosen)
        state["labels"].extend(labels.tolist())
        state["pending"] = [int(i) for i in chosen]
        state["n_labelled"] += len(chosen)
        state["step"] += 1

    def _check_answers(self, state, chosen, labels):
        """Refuse a wrong answer before anything is recorded, naming its row and value."""
        if labels.ndim != 1 or len(labels) != len(chosen):
            raise ValueError(
                f"the oracle returned {len(labels) if labels.ndim else 'no list of'} labels "
                f"for {len(chosen)} rows; return exactly one label per requested row. "
                "Nothing was recorded for this step."
            )
        classes = state["classes"]
        if classes is None:
            classes = getattr(self.estimator, "classes_", None)
        if classes is None:
            return
        known = set(np.asarray(classes).tolist())
        for row, label in zip(chosen, labels.tolist()):
            if not _is_hashable(label) or label not in known:
                raise ValueError(
                    f"the oracle answered {label!r} ({type(label).__name__}) for pool row "
                    f"{int(row)}, which is not one of the classes {sorted(known, key=str)}. "
                    "Nothing was recorded for this step: answer with one of the classes, of "
                    "the same type, and call run() again."
                )

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
            self._partial_fit(_take_rows(X_pool, np.asarray(state["labelled"])[positions]),
                              np.asarray(state["labels"])[positions], epochs, state)
        X_new = _take_rows(X_pool, np.asarray(state["pending"]))
        y_new = np.asarray(state["labels"])[n_labelled - n_new:]
        self.X_training, self.y_training = _stack(self.X_training, X_new), _stack(self.y_training, y_new)
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
        if _is_fitted(self.estimator) and hasattr(self.estimator, "initialize"):
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
        """Write the whole learner to ``path`` atomically.

        The file is written beside ``path`` and renamed over it, so a crash
        at any moment leaves either the previous checkpoint or the new one.

        Parameters
        ----------
        path : str or path-like
        """
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".skepinet-", suffix=".tmp")
        try:
            # mkstemp creates 0600; a checkpoint gets the mode of any file the user makes.
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
            with os.fdopen(fd, "wb") as f:
                joblib.dump(self, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_folder(folder)  # the rename itself survives a power cut
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path):
        """Load a learner written by :meth:`save`; its next :meth:`run` resumes.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        learner : ActiveLearner
        """
        learner = joblib.load(path)
        if not isinstance(learner, cls):
            raise TypeError(f"{path} holds a {type(learner).__name__}, not an {cls.__name__}.")
        return learner

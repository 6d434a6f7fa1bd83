"""Scoring a pool: the model's priority of every row, chunk by chunk.

Strategies (:mod:`skepinet.strategies`) decide *which* rows to query; this
module computes the numbers they decide on, and finds the model they are
computed with (:func:`as_model`: the learner↔strategy contract). It holds everything about how a
pool is traversed: ``chunk_size`` rows per model call (so memory stays
bounded however large the pool), joblib workers over contiguous blocks, and
``dask.array`` pools scored where their blocks live. Every path gives the
same scores as one serial pass, because ``predict_proba_joint`` uses the
same fixed index samples on every call.

``model`` below is anything with ``joint(X, n_index)`` returning the joint
prediction ``(n_index, n_rows, n_classes)``, such as
:func:`as_model`'s result.
"""

from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import priorities
from .utils import is_integer, n_rows, take_rows

__all__ = [
    "DASK_WORKER_ENVIRON",
    "DEFAULT_CHUNK_SIZE",
    "QueryContext",
    "QueryModel",
    "as_model",
    "is_fitted",
    "check_n_jobs",
    "dask_worker_config",
    "is_dask_array",
    "iter_chunks",
    "joint_of_rows",
    "score_block",
    "score_dask_pool",
    "score_pool",
]

DEFAULT_CHUNK_SIZE = 8192
"""int : Pool rows per model call unless a strategy is told otherwise."""

DASK_WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": 64 * 2 ** 20}
"""dict : Environment of the Dask workers that score pools (see :func:`dask_worker_config`)."""


# -- the model behind `classifier` -------------------------------------------------


def is_fitted(estimator):
    """Whether ``estimator`` is fitted, by scikit-learn's ``check_is_fitted``.

    Parameters
    ----------
    estimator : object

    Returns
    -------
    fitted : bool
        ``False`` too for objects ``check_is_fitted`` refuses (not estimators).
    """
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class QueryContext:
    """What an active learner tells a strategy: its model and its labelled rows.

    The learner↔strategy contract. A learner that defines
    ``query_context()`` returning one of these (skepinet's
    :class:`~skepinet.ActiveLearner` does) is looked through to
    ``estimator``, without the strategy guessing at its attributes; other
    wrappers (modAL's ``ActiveLearner``) are still unwrapped through their
    ``estimator`` and ``X_training``.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The model the strategy scores with.
    X_labelled : array-like or None (default=None)
        Rows labelled so far, which :func:`skepinet.strategies.coreset` keeps away from.
    """

    estimator: object
    X_labelled: object = None


class QueryModel:
    """What a strategy needs from ``classifier``, whatever wraps the model.

    Built by :func:`as_model`. Unwraps a :class:`QueryContext`,
    ``.estimator`` (active learners) and a final Pipeline step,
    remembering the Pipeline's preceding steps as ``transform`` and the
    first labelled rows met on the way as ``X_labelled``.

    Parameters
    ----------
    classifier : estimator, Pipeline, active learner or QueryContext

    Attributes
    ----------
    final : estimator
        The model itself.
    is_enn : bool
        Whether ``final`` has ``predict_proba_joint``.
    X_labelled : array-like or None
    transform : callable or None
    """

    def __init__(self, classifier):
        self.X_labelled = None
        self.transform = None
        context = classifier
        if not isinstance(context, QueryContext) and callable(getattr(context, "query_context", None)):
            context = context.query_context()
        obj = classifier
        if isinstance(context, QueryContext):
            self.X_labelled, obj = context.X_labelled, context.estimator
        seen = set()
        while id(obj) not in seen:
            seen.add(id(obj))
            if self.X_labelled is None and getattr(obj, "X_training", None) is not None:
                self.X_labelled = obj.X_training
            if hasattr(obj, "predict_proba_joint"):
                break
            if isinstance(obj, Pipeline):
                if len(obj) > 1:
                    self.transform = obj[:-1].transform
                obj = obj[-1]
                continue
            inner = getattr(obj, "estimator", None)
            # A search CV's ``estimator`` is its unfitted template: only
            # unwrap a fitted model or an ENN (which then says if unfitted).
            if inner is not None and (hasattr(inner, "predict_proba_joint") or is_fitted(inner)):
                obj = inner
                continue
            break
        self.final = obj
        self.is_enn = hasattr(obj, "predict_proba_joint")

    def _prepare(self, X):
        return X if self.transform is None else self.transform(X)

    def joint(self, X, n_index):
        """Joint probabilities of ``X``, shape (n_index or 1, n_rows, n_classes)."""
        X = self._prepare(X)
        if self.is_enn:
            return self.final.predict_proba_joint(X, n_index=n_index)
        model = self.final
        if not hasattr(model, "predict_proba"):
            raise TypeError(
                f"{type(model).__name__} has neither predict_proba_joint nor "
                "predict_proba; pass a fitted classifier such as "
                "skepinet.EpinetClassifier."
            )
        return np.asarray(model.predict_proba(X))[None]

    def features(self, X):
        """Backbone features with ``embed``, else the (transformed) inputs."""
        X = self._prepare(X)
        if hasattr(self.final, "embed"):
            return np.asarray(self.final.embed(X))
        if hasattr(X, "toarray"):  # scipy.sparse
            X = X.toarray()
        try:
            return np.asarray(X, dtype=np.float64).reshape(n_rows(X), -1)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{type(self.final).__name__} has no embed() and its inputs are "
                "not numeric arrays, so there are no features to measure "
                "distances on; use a skepinet estimator or numeric inputs."
            ) from exc

    def require_enn(self, strategy_name):
        """Raise a ``TypeError`` naming ``strategy_name`` unless the model is an ENN."""
        if not self.is_enn:
            raise TypeError(
                f"The {strategy_name!r} strategy measures disagreement between epistemic "
                f"index samples, but {type(self.final).__name__} has no "
                "predict_proba_joint. Use an epistemic neural network such as "
                "skepinet.EpinetClassifier, or a marginal strategy such as "
                "skepinet.strategies.entropy."
            )


def as_model(classifier):
    """The model behind ``classifier``, as strategies see it.

    Parameters
    ----------
    classifier : estimator, Pipeline, active learner or QueryContext

    Returns
    -------
    model : QueryModel
    """
    return QueryModel(classifier)


# -- traversing the pool ---------------------------------------------------------


def iter_chunks(X, chunk_size):
    """Yield ``(rows, X[rows])`` for consecutive slices of ``chunk_size`` rows.

    Parameters
    ----------
    X : array-like
        Any row container :func:`skepinet.utils.take_rows` accepts.
    chunk_size : int
        Rows per slice.

    Yields
    ------
    rows : slice
    X_chunk : array-like
    """
    n = n_rows(X)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        yield rows, take_rows(X, rows)


def score_pool(model, X_pool, priority, n_index, chunk_size, rng, n_jobs=None):
    """Priority of every pool row, ``chunk_size`` rows per model call.

    With more than one joblib worker (``n_jobs``, or joblib's
    ``parallel_config``), the pool is cut into one contiguous block per
    worker, on chunk boundaries: the model is shipped once per worker, each
    chunk is the serial path's chunk, and the scores are identical.
    """
    if is_dask_array(X_pool) and priority is not priorities.uniform:
        return score_dask_pool(model, X_pool, priority, n_index, chunk_size)
    n_pool = n_rows(X_pool)
    n_workers = 1 if priority is priorities.uniform else check_n_jobs(n_jobs)
    n_chunks = -(-n_pool // chunk_size)
    if n_workers == 1 or n_chunks == 1:
        return score_block(model, X_pool, priority, n_index, chunk_size, rng)
    per_block = -(-n_chunks // n_workers) * chunk_size
    blocks = [slice(start, min(start + per_block, n_pool))
              for start in range(0, n_pool, per_block)]
    parts = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(score_block)(model, take_rows(X_pool, block), priority, n_index,
                                     chunk_size, None)
        for block in blocks)
    return np.concatenate(parts)


def dask_worker_config():
    """Dask settings under which worker processes score pools at full speed.

    Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_`` set,
    and a fixed trim threshold also fixes glibc's mmap threshold at its
    128 KiB default: every tensor above it is then mapped and unmapped
    afresh, page faults and all, and scoring on a worker runs 2.5 times
    slower than in a plain process (measured: 3.3 s against 1.3 s for
    500,000 rows). :data:`DASK_WORKER_ENVIRON` raises the mmap threshold
    to 64 MiB, which serves those tensors from the heap again (1.6 s) and
    keeps Dask's trimming.

    Returns
    -------
    config : dict
        For :func:`dask.config.set`, around the start of the cluster's
        workers: ``with dask.config.set(dask_worker_config()):
        cluster = LocalCluster(...)``. Workers started by hand (``dask
        worker``) take the same variables from the environment, e.g.
        ``MALLOC_MMAP_THRESHOLD_=67108864 dask worker tcp://...``.
    """
    return {f"distributed.nanny.pre-spawn-environ.{name}": value
            for name, value in DASK_WORKER_ENVIRON.items()}


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array`` (scored block by block where it lives)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "map_blocks")


def score_dask_pool(model, X_pool, priority, n_index, chunk_size):
    """Scores of a ``dask.array`` pool, block by block where its data live.

    The model enters the graph once, as one delayed object, so each worker
    fetches it once; the scores (8 bytes a row) come back to the caller.
    """
    import dask

    if X_pool.ndim > 1:
        X_pool = X_pool.rechunk({axis: -1 for axis in range(1, X_pool.ndim)})
    scores = X_pool.map_blocks(score_dask_block, dask.delayed(model), priority, n_index,
                               chunk_size, drop_axis=list(range(1, X_pool.ndim)),
                               dtype=np.float64, meta=np.empty(0))
    return np.asarray(scores.compute())


def score_dask_block(block, model, priority, n_index, chunk_size):
    """Scores of one dask block; runs on the worker holding it."""
    return score_block(model, np.asarray(block), priority, n_index, chunk_size, None)


def check_n_jobs(n_jobs):
    """Validate ``n_jobs`` (a non-zero integer or ``None``); return the workers it means.

    Raises
    ------
    ValueError
        For ``0``, a float, a string or any other non-integer.
    """
    if n_jobs is not None and (not is_integer(n_jobs) or n_jobs == 0):
        raise ValueError(
            f"n_jobs must be a non-zero integer or None, got {n_jobs!r}; pass e.g. n_jobs=2 "
            "(or -1 for every core), or None for joblib's parallel_config."
        )
    return joblib.effective_n_jobs(n_jobs)


def score_block(model, X_pool, priority, n_index, chunk_size, rng):
    """Priority of every row of ``X_pool`` in one process, ``chunk_size`` rows per call.

    ``rng`` is only read by the ``uniform`` priority (which needs no model
    output but keeps the chunked call shape).
    """
    scores = np.empty(n_rows(X_pool))
    for rows, X_chunk in iter_chunks(X_pool, chunk_size):
        proba = model.joint(X_chunk, n_index)
        if priority is priorities.uniform:
            scores[rows] = priority(proba, random_state=rng)
        else:
            scores[rows] = priority(proba)
    return scores


def joint_of_rows(model, X, n_index, chunk_size):
    """Joint prediction of every row of ``X`` as float32, chunk by chunk."""
    out = None
    for rows, X_chunk in iter_chunks(X, chunk_size):
        proba = model.joint(X_chunk, n_index)
        if out is None:
            out = np.empty((proba.shape[0], n_rows(X), proba.shape[2]), dtype=np.float32)
        out[:, rows] = proba
    return out

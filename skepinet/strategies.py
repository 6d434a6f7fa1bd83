"""Query strategies for active learning, compatible with modAL.

A strategy picks which rows of an unlabelled pool to label next::

    indices, scores = strategy(classifier, X_pool, n_instances=1, *, n_index=100,
                               random_state=None, ...)

and **always** returns two arrays of length ``n_instances``: the chosen row
positions in ``X_pool`` (int64, best first) and the score of each chosen
row under the strategy (its priority, BatchBALD gain or k-center distance;
higher = picked first). modAL 0.4.2 unpacks exactly these two values in
``learner.query``, which then returns ``(indices, X_pool[indices])``; a
strategy returning bare indices would be called twice there, and misread
when ``n_instances=2``.

``classifier`` may be

- a skepinet estimator (anything with ``predict_proba_joint``);
- a :class:`sklearn.pipeline.Pipeline` ending in one: the preceding steps
  transform ``X_pool`` first;
- a wrapper holding the model in ``.estimator``, such as modAL's or
  skepinet's ``ActiveLearner`` (its ``X_training``, if any, are the
  labelled rows that :func:`coreset` keeps away from);
- any scikit-learn classifier with ``predict_proba``, for the marginal
  strategies (its probabilities act as a joint prediction with one index
  sample) and for :func:`coreset` in input space.

Pools are scored ``chunk_size`` rows at a time, so memory stays bounded
however large the pool: ``predict_proba_joint`` uses the same fixed index
samples on every call, which makes chunked scores identical to one big
call.

Top-n selection breaks exact ties at random (seeded by ``random_state``):
a model without epistemic uncertainty gives bald = 0 everywhere, and then
the choice is uniform rather than the first rows of the pool.
"""


import joblib
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from sklearn.exceptions import NotFittedError

from . import priorities as _priorities
from .utils import (
    DEFAULT_N_INDEX,
    check_n_instances,
    check_positive_int,
    is_integer,
    n_rows,
    take_rows,
)

__all__ = [
    "bald",
    "variance",
    "entropy",
    "margin",
    "least_confidence",
    "uniform",
    "batchbald",
    "coreset",
    "uncertain_diverse",
    "STRATEGIES",
    "select_top",
]

DEFAULT_CHUNK_SIZE = 8192


# -- pool access -----------------------------------------------------------------


def _iter_chunks(X, chunk_size):
    n = n_rows(X)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        yield rows, take_rows(X, rows)


# -- the model behind `classifier` -------------------------------------------------


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True


class _Model:
    """What a strategy needs from ``classifier``, whatever wraps the model.

    Unwraps ``.estimator`` (active learners) and a final Pipeline step,
    remembering the Pipeline's preceding steps as ``transform`` and the
    first ``X_training`` met on the way as the labelled rows.
    """

    def __init__(self, classifier):
        self.X_labelled = None
        self.transform = None
        obj = classifier
        seen = set()
        while id(obj) not in seen:
            seen.add(id(obj))
            if self.X_labelled is None and getattr(obj, "X_training", None) is not None:
                self.X_labelled = obj.X_training
            # Learners forward predict_proba_joint to their estimator; look
            # through them so the model itself decides what it supports.
            wraps = getattr(obj, "_forwards_to_estimator", False)
            if hasattr(obj, "predict_proba_joint") and not wraps:
                break
            if isinstance(obj, Pipeline):
                if len(obj) > 1:
                    self.transform = obj[:-1].transform
                obj = obj[-1]
                continue
            inner = getattr(obj, "estimator", None)
            # A search CV's ``estimator`` is its unfitted template: only
            # unwrap a fitted model or an ENN (which then says if unfitted).
            if inner is not None and (hasattr(inner, "predict_proba_joint") or _is_fitted(inner)):
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


def _require_enn(model, strategy_name):
    if not model.is_enn:
        raise TypeError(
            f"The {strategy_name!r} strategy measures disagreement between epistemic "
            f"index samples, but {type(model.final).__name__} has no "
            "predict_proba_joint. Use an epistemic neural network such as "
            "skepinet.EpinetClassifier, or a marginal strategy such as "
            "skepinet.strategies.entropy."
        )


def _resolve_priority(priority):
    """Return ``(function, name)`` for a priority name or callable."""
    if callable(priority):
        return priority, getattr(priority, "__name__", repr(priority))
    if priority not in _priorities.PRIORITIES:
        raise ValueError(
            f"priority={priority!r} is not known; choose one of "
            f"{sorted(_priorities.PRIORITIES)} or pass a function of proba."
        )
    return _priorities.PRIORITIES[priority], priority


# -- validation --------------------------------------------------------------------


def _check_n_candidates(n_candidates, n_instances, n_pool):
    """Validate a pre-selection size; return it capped at the pool size."""
    if not is_integer(n_candidates):
        raise TypeError(
            f"n_candidates must be an integer or None, got {n_candidates!r} "
            f"({type(n_candidates).__name__})."
        )
    if n_candidates < n_instances:
        raise ValueError(
            f"n_candidates={n_candidates} is smaller than n_instances={n_instances}; "
            "pass n_candidates >= n_instances, or None."
        )
    return min(int(n_candidates), n_pool)


# -- selection ---------------------------------------------------------------------


def select_top(scores, n_instances, random_state=None):
    """Positions of the ``n_instances`` highest scores, ties broken at random.

    Runs in linear time (a partition, not a full sort); random keys only
    decide between exactly equal scores. NaN counts as the lowest score.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Higher = better.
    n_instances : int
        How many positions to return, between 1 and ``n_samples``.
    random_state : int, RandomState instance or None (default=None)
        Seeds the tie-breaking.

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Best first.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    n_instances = check_n_instances(n_instances, len(scores))
    rng = check_random_state(random_state)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    threshold = np.partition(scores, len(scores) - n_instances)[len(scores) - n_instances]
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)
    picked = np.concatenate([above, rng.choice(tied, n_instances - len(above), replace=False)])
    # Rank best first; the random key orders equal scores among the picks.
    order = np.lexsort((rng.permutation(len(picked)), -scores[picked]))
    return picked[order].astype(np.int64)


def _score_pool(model, X_pool, priority, n_index, chunk_size, rng, n_jobs=None):
    """Priority of every pool row, ``chunk_size`` rows per model call.

    With more than one joblib worker (``n_jobs``, or joblib's
    ``parallel_config``), the pool is cut into one contiguous block per
    worker, on chunk boundaries: the model is shipped once per worker, each
    chunk is the serial path's chunk, and the scores are identical.
    """
    if _is_dask_array(X_pool) and priority is not _priorities.uniform:
        return _score_dask_pool(model, X_pool, priority, n_index, chunk_size)
    n_pool = n_rows(X_pool)
    n_workers = 1 if priority is _priorities.uniform else _effective_workers(n_jobs)
    n_chunks = -(-n_pool // chunk_size)
    if n_workers == 1 or n_chunks == 1:
        return _score_block(model, X_pool, priority, n_index, chunk_size, rng)
    per_block = -(-n_chunks // n_workers) * chunk_size
    blocks = [slice(start, min(start + per_block, n_pool))
              for start in range(0, n_pool, per_block)]
    parts = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(_score_block)(model, take_rows(X_pool, block), priority, n_index,
                                     chunk_size, None)
        for block in blocks)
    return np.concatenate(parts)


def _is_dask_array(X):
    return type(X).__module__.startswith("dask.array") and hasattr(X, "map_blocks")


def _score_dask_pool(model, X_pool, priority, n_index, chunk_size):
    """Scores of a ``dask.array`` pool, block by block where its data live.

    The model enters the graph once, as one delayed object, so each worker
    fetches it once; the scores (8 bytes a row) come back to the caller.
    """
    import dask

    if X_pool.ndim > 1:
        X_pool = X_pool.rechunk({axis: -1 for axis in range(1, X_pool.ndim)})
    scores = X_pool.map_blocks(_score_dask_block, dask.delayed(model), priority, n_index,
                               chunk_size, drop_axis=list(range(1, X_pool.ndim)),
                               dtype=np.float64, meta=np.empty(0))
    return np.asarray(scores.compute())


def _score_dask_block(block, model, priority, n_index, chunk_size):
    return _score_block(model, np.asarray(block), priority, n_index, chunk_size, None)


def _effective_workers(n_jobs):
    if n_jobs is not None and (not is_integer(n_jobs) or n_jobs == 0):
        raise ValueError(
            f"n_jobs must be a non-zero integer or None, got {n_jobs!r}; pass e.g. n_jobs=2 "
            "(or -1 for every core), or None for joblib's parallel_config."
        )
    return joblib.effective_n_jobs(n_jobs)


def _score_block(model, X_pool, priority, n_index, chunk_size, rng):
    scores = np.empty(n_rows(X_pool))
    for rows, X_chunk in _iter_chunks(X_pool, chunk_size):
        proba = model.joint(X_chunk, n_index)
        if priority is _priorities.uniform:
            scores[rows] = priority(proba, random_state=rng)
        else:
            scores[rows] = priority(proba)
    return scores


def _joint_of_rows(model, X, n_index, chunk_size):
    """Joint prediction of every row of ``X`` as float32, chunk by chunk."""
    out = None
    for rows, X_chunk in _iter_chunks(X, chunk_size):
        proba = model.joint(X_chunk, n_index)
        if out is None:
            out = np.empty((proba.shape[0], n_rows(X), proba.shape[2]), dtype=np.float32)
        out[:, rows] = proba
    return out


def _labelled_features(model, X_labelled):
    if X_labelled is None:
        X_labelled = model.X_labelled
    if X_labelled is None or n_rows(X_labelled) == 0:
        return None
    return model.features(X_labelled)


def _priority_strategy(priority_name, epistemic):
    priority = _priorities.PRIORITIES[priority_name]

    def strategy(
        classifier,
        X_pool,
        n_instances=1,
        *,
        n_index=DEFAULT_N_INDEX,
        random_state=None,
        chunk_size=DEFAULT_CHUNK_SIZE,
        n_jobs=None,
    ):
        n_instances = check_n_instances(n_instances, n_rows(X_pool))
        n_index = check_positive_int(n_index, "n_index")
        chunk_size = check_positive_int(chunk_size, "chunk_size", DEFAULT_CHUNK_SIZE)
        _effective_workers(n_jobs)
        model = _Model(classifier)
        if epistemic:
            _require_enn(model, priority_name)
        rng = check_random_state(random_state)
        scores = _score_pool(model, X_pool, priority, n_index, chunk_size, rng, n_jobs)
        indices = select_top(scores, n_instances, rng)
        return indices, scores[indices]

    strategy.__name__ = strategy.__qualname__ = priority_name
    strategy.__module__ = __name__
    kind = "epistemic" if epistemic else "marginal"
    requirement = (
        "``classifier`` must provide ``predict_proba_joint`` (an ENN); "
        "otherwise a TypeError says so."
        if epistemic
        else "Works with any classifier that has ``predict_proba``."
    )
    strategy.__doc__ = f"""Query the rows with the highest ``{priority_name}`` priority ({kind}).

    See :func:`skepinet.priorities.{priority_name}` for the score. {requirement}

    Parameters
    ----------
    classifier : estimator, Pipeline or active learner
        The fitted model (see the module docstring for what is accepted).
    X_pool : array-like of shape (n_pool, n_features)
        Unlabelled rows (numpy, pandas, list, sparse matrix, or a dict of
        per-row arrays).
    n_instances : int (default=1)
        Number of rows to query, at most ``n_pool``.
    n_index : int (default=100)
        Index samples per row for an ENN; ignored by other models.
    random_state : int, RandomState instance or None (default=None)
        Breaks exact ties between scores.
    chunk_size : int (default={DEFAULT_CHUNK_SIZE})
        Pool rows scored per model call; bounds memory.
    n_jobs : int or None (default=None)
        joblib workers scoring the pool, one contiguous block each (the
        model is sent once per worker; results are identical to one
        worker). ``None`` follows ``joblib.parallel_config``, e.g.
        ``with parallel_config(backend="dask"):`` scores on a Dask cluster.

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Positions in ``X_pool``, highest score first.
    scores : ndarray of shape (n_instances,), float64
        The priority of each chosen row.
    """
    return strategy


bald = _priority_strategy("bald", epistemic=True)
variance = _priority_strategy("variance", epistemic=True)
entropy = _priority_strategy("entropy", epistemic=False)
margin = _priority_strategy("margin", epistemic=False)
least_confidence = _priority_strategy("least_confidence", epistemic=False)


def uniform(classifier, X_pool, n_instances=1, *, n_index=DEFAULT_N_INDEX, random_state=None):
    """Query rows uniformly at random, without consulting the model.

    Parameters
    ----------
    classifier : object
        Ignored; present for the strategy signature.
    X_pool : array-like of shape (n_pool, n_features)
        Unlabelled rows.
    n_instances : int (default=1)
        Number of rows to query, at most ``n_pool``.
    n_index : int (default=100)
        Ignored.
    random_state : int, RandomState instance or None (default=None)
        Seeds the draw.

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Distinct positions in ``X_pool``.
    scores : ndarray of shape (n_instances,), float64
        The ``U(0, 1)`` keys that ranked the chosen rows.
    """
    n_pool = n_rows(X_pool)
    n_instances = check_n_instances(n_instances, n_pool)
    rng = check_random_state(random_state)
    keys = rng.uniform(size=n_pool)
    indices = select_top(keys, n_instances, rng)
    return indices, keys[indices]


def batchbald(
    classifier,
    X_pool,
    n_instances=1,
    *,
    n_index=DEFAULT_N_INDEX,
    random_state=None,
    n_candidates=None,
    max_configs=1024,
    chunk_size=DEFAULT_CHUNK_SIZE,
    n_jobs=None,
):
    """Query a jointly informative batch by greedy BatchBALD (epistemic).

    Unlike top-n :func:`bald`, near-duplicate rows do not all make it into
    the batch: once one is chosen, its twin's label tells little more about
    the model. See :func:`skepinet.priorities.batchbald_select`.

    The joint mutual information of a batch is at most ``log(n_index)``
    nats, so gains shrink fast once the batch approaches that; use
    ``n_index`` well above the batch size (the default 100 suits batches of
    about ten).

    Parameters
    ----------
    classifier : estimator, Pipeline or active learner
        A fitted ENN (with ``predict_proba_joint``), possibly wrapped.
    X_pool : array-like of shape (n_pool, n_features)
        Unlabelled rows.
    n_instances : int (default=1)
        Batch size, at most ``n_pool``.
    n_index : int (default=100)
        Index samples per row.
    random_state : int, RandomState instance or None (default=None)
        Seeds configuration sampling and tie-breaking.
    n_candidates : int or None (default=None)
        If set, BatchBALD only considers the ``n_candidates`` rows of
        highest BALD score (scored chunk by chunk). Greedy BatchBALD costs
        ``O(max_configs * n_index * n_candidates * n_classes)`` per pick, so
        set this for pools beyond a few thousand rows.
    max_configs : int (default=1024)
        Label configurations enumerated exactly, or sampled beyond that.
    chunk_size : int (default=8192)
        Rows per model call.
    n_jobs : int or None (default=None)
        joblib workers for the BALD pre-selection over the pool (see
        :func:`bald`).

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Positions in ``X_pool``, in the order picked.
    scores : ndarray of shape (n_instances,), float64
        Each pick's gain in joint mutual information (nats); the first is
        its BALD score.
    """
    n_pool = n_rows(X_pool)
    n_instances = check_n_instances(n_instances, n_pool)
    n_index = check_positive_int(n_index, "n_index")
    chunk_size = check_positive_int(chunk_size, "chunk_size", DEFAULT_CHUNK_SIZE)
    _effective_workers(n_jobs)
    model = _Model(classifier)
    _require_enn(model, "batchbald")
    rng = check_random_state(random_state)

    if n_candidates is not None:
        n_candidates = _check_n_candidates(n_candidates, n_instances, n_pool)
    if n_candidates is not None and n_candidates < n_pool:
        scores = _score_pool(model, X_pool, _priorities.bald, n_index, chunk_size, rng, n_jobs)
        candidates = select_top(scores, n_candidates, rng)
        proba = _joint_of_rows(model, take_rows(X_pool, candidates), n_index, chunk_size)
    else:
        candidates = np.arange(n_pool)
        proba = _joint_of_rows(model, X_pool, n_index, chunk_size)
    picks, gains = _priorities.batchbald_select(
        proba, n_instances, max_configs=max_configs, random_state=rng
    )
    return candidates[picks], gains


def coreset(
    classifier,
    X_pool,
    n_instances=1,
    *,
    n_index=DEFAULT_N_INDEX,
    random_state=None,
    X_labelled=None,
):
    """Query rows that cover the pool in feature space (greedy k-center).

    The core-set approach of Sener & Savarese (2018): repeatedly query the
    pool row farthest from every labelled or already queried row. Features
    are ``embed(X)`` (the backbone's last hidden layer) for skepinet
    estimators, and the inputs themselves (after a Pipeline's transforms)
    for other models. It ignores uncertainty entirely.

    Parameters
    ----------
    classifier : estimator, Pipeline or active learner
        The fitted model.
    X_pool : array-like of shape (n_pool, n_features)
        Unlabelled rows.
    n_instances : int (default=1)
        Number of rows to query, at most ``n_pool``.
    n_index : int (default=100)
        Ignored.
    random_state : int, RandomState instance or None (default=None)
        Seeds the first pick when there are no labelled rows, and ties.
    X_labelled : array-like or None (default=None)
        Labelled rows, used as initial centres. ``None`` uses the
        ``X_training`` of an active learner passed as ``classifier``, if
        any.

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Positions in ``X_pool``, in the order picked.
    scores : ndarray of shape (n_instances,), float64
        Distance of each pick to its nearest centre when picked; ``inf``
        for a first pick made with no labelled rows.
    """
    n_instances = check_n_instances(n_instances, n_rows(X_pool))
    model = _Model(classifier)
    features = model.features(X_pool)
    initial = _labelled_features(model, X_labelled)
    return _priorities.kcenter_greedy(
        features, n_instances, initial=initial, random_state=random_state
    )


def uncertain_diverse(
    classifier,
    X_pool,
    n_instances=1,
    *,
    n_index=DEFAULT_N_INDEX,
    random_state=None,
    priority="bald",
    n_candidates=None,
    X_labelled=None,
    chunk_size=DEFAULT_CHUNK_SIZE,
    n_jobs=None,
):
    """Query uncertain rows that are also far apart in feature space.

    Two stages: keep the ``n_candidates`` rows of highest ``priority``,
    query the most uncertain of them, then fill the batch by greedy
    k-center among the candidates, counting labelled rows and earlier
    picks as centres. Uncertainty decides *where* to look, diversity stops
    the batch from being ``n_instances`` variations of one example.

    Parameters
    ----------
    classifier : estimator, Pipeline or active learner
        The fitted model; epistemic priorities need an ENN.
    X_pool : array-like of shape (n_pool, n_features)
        Unlabelled rows.
    n_instances : int (default=1)
        Number of rows to query, at most ``n_pool``.
    n_index : int (default=100)
        Index samples per row for an ENN.
    random_state : int, RandomState instance or None (default=None)
        Breaks ties.
    priority : str or callable (default='bald')
        A name in :data:`skepinet.priorities.PRIORITIES` or a function of
        the joint array returning one score per row.
    n_candidates : int or None (default=None)
        Size of the uncertain pre-selection; ``None`` means
        ``10 * n_instances`` (capped at the pool size).
    X_labelled : array-like or None (default=None)
        Labelled rows, as in :func:`coreset`.
    chunk_size : int (default=8192)
        Rows per model call.
    n_jobs : int or None (default=None)
        joblib workers scoring the pool (see :func:`bald`).

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Positions in ``X_pool``, in the order picked.
    scores : ndarray of shape (n_instances,), float64
        The ``priority`` score of each chosen row.
    """
    n_pool = n_rows(X_pool)
    n_instances = check_n_instances(n_instances, n_pool)
    n_index = check_positive_int(n_index, "n_index")
    chunk_size = check_positive_int(chunk_size, "chunk_size", DEFAULT_CHUNK_SIZE)
    priority, priority_name = _resolve_priority(priority)
    if n_candidates is None:
        n_candidates = 10 * n_instances
    n_candidates = _check_n_candidates(n_candidates, n_instances, n_pool)
    _effective_workers(n_jobs)
    model = _Model(classifier)
    if priority_name in _priorities.EPISTEMIC_PRIORITIES:
        _require_enn(model, priority_name)
    rng = check_random_state(random_state)

    scores = _score_pool(model, X_pool, priority, n_index, chunk_size, rng, n_jobs)
    candidates = select_top(scores, n_candidates, rng)  # best first
    picks = [0]
    if n_instances > 1:
        features = model.features(take_rows(X_pool, candidates))
        initial = _labelled_features(model, X_labelled)
        first = features[:1]
        initial = first if initial is None else np.concatenate([initial, first])
        rest, _ = _priorities.kcenter_greedy(
            features[1:], n_instances - 1, initial=initial, random_state=rng
        )
        picks.extend(rest + 1)
    indices = candidates[np.asarray(picks)]
    return indices, scores[indices]


STRATEGIES = {
    "bald": bald,
    "variance": variance,
    "entropy": entropy,
    "margin": margin,
    "least_confidence": least_confidence,
    "uniform": uniform,
    "batchbald": batchbald,
    "coreset": coreset,
    "uncertain_diverse": uncertain_diverse,
}
"""dict : Strategy name -> strategy function."""

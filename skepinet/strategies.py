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


from functools import partial

import numpy as np
from sklearn.utils import check_random_state

from . import priorities
from .scoring import (
    DEFAULT_CHUNK_SIZE,
    as_model,
    check_n_jobs,
    is_dask_array,
    joint_of_rows,
    score_pool,
)
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
    "epig",
    "batchbald",
    "coreset",
    "uncertain_diverse",
    "STRATEGIES",
    "select_top",
]

def _resolve_priority(priority):
    """Return ``(function, name)`` for a priority name or callable."""
    if callable(priority):
        return priority, getattr(priority, "__name__", repr(priority))
    if priority not in priorities.PRIORITIES:
        raise ValueError(
            f"priority={priority!r} is not known; choose one of "
            f"{sorted(priorities.PRIORITIES)} or pass a function of proba."
        )
    return priorities.PRIORITIES[priority], priority


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


def _top_candidates(model, X_pool, priority, n_candidates, n_index, chunk_size, rng, n_jobs):
    """The ``n_candidates`` rows of highest ``priority`` (best first), and every row's score.

    The pre-selection of the two-stage strategies (:func:`batchbald`,
    :func:`uncertain_diverse`): one pass over the pool, then a linear-time
    top-n, so the expensive second stage only sees the candidates.
    """
    scores = score_pool(model, X_pool, priority, n_index, chunk_size, rng, n_jobs)
    return select_top(scores, n_candidates, rng), scores


def _labelled_features(model, X_labelled):
    if X_labelled is None:
        X_labelled = model.X_labelled
    if X_labelled is None or n_rows(X_labelled) == 0:
        return None
    return model.features(X_labelled)


def _priority_strategy(priority_name, epistemic):
    priority = priorities.PRIORITIES[priority_name]

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
        check_n_jobs(n_jobs)
        model = as_model(classifier)
        if epistemic:
            model.require_enn(priority_name)
        rng = check_random_state(random_state)
        scores = score_pool(model, X_pool, priority, n_index, chunk_size, rng, n_jobs)
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


def epig(
    classifier,
    X_pool,
    n_instances=1,
    *,
    n_index=DEFAULT_N_INDEX,
    random_state=None,
    X_target=None,
    n_targets=100,
    chunk_size=DEFAULT_CHUNK_SIZE,
    n_jobs=None,
):
    """Query the rows whose labels tell most about the targets' labels (epistemic).

    Scores each row by :func:`skepinet.priorities.epig`: the information
    its label carries about the labels of target inputs, a sample of where
    the model will be used. Where :func:`variance` and :func:`bald` chase
    any disagreement between index samples, including far from every input
    that matters, EPIG only values what generalises to the targets.

    Parameters
    ----------
    classifier : estimator, Pipeline or active learner
        A fitted ENN (with ``predict_proba_joint``), possibly wrapped.
    X_pool : array-like of shape (n_pool, n_features)
        Unlabelled rows.
    n_instances : int (default=1)
        Number of rows to query, at most ``n_pool``.
    n_index : int (default=100)
        Index samples per row.
    random_state : int, RandomState instance or None (default=None)
        Seeds the choice of targets and breaks ties.
    X_target : array-like or None (default=None)
        Inputs the model will be used on; ``None`` takes them from
        ``X_pool`` (in :meth:`skepinet.ActiveLearner.run`, a uniform sample
        of the unlabelled pool).
    n_targets : int (default=100)
        Targets drawn at random from ``X_target`` (all of them if fewer).
        Cost grows linearly with it.
    chunk_size : int (default=8192)
        Rows per model call.
    n_jobs : int or None (default=None)
        joblib workers scoring the pool (see :func:`bald`).

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Positions in ``X_pool``, highest score first.
    scores : ndarray of shape (n_instances,), float64
        The EPIG of each chosen row (nats).
    """
    n_pool = n_rows(X_pool)
    n_instances = check_n_instances(n_instances, n_pool)
    n_index = check_positive_int(n_index, "n_index")
    n_targets = check_positive_int(n_targets, "n_targets", 100)
    chunk_size = check_positive_int(chunk_size, "chunk_size", DEFAULT_CHUNK_SIZE)
    check_n_jobs(n_jobs)
    model = as_model(classifier)
    model.require_enn("epig")
    rng = check_random_state(random_state)
    targets = X_pool if X_target is None else X_target
    n_available = n_rows(targets)
    if n_available == 0:
        raise ValueError("X_target has no rows; pass the inputs the model will be used on, "
                         "or None to take them from X_pool.")
    picked = (np.sort(rng.choice(n_available, n_targets, replace=False))
              if n_available > n_targets else np.arange(n_available))
    if X_target is None and n_pool <= chunk_size and not is_dask_array(X_pool):
        # The targets are pool rows and the pool is one model call: predict it once
        # (a text backbone would otherwise encode the targets twice).
        proba = joint_of_rows(model, X_pool, n_index, chunk_size)
        scores = priorities.epig(proba, proba[:, picked])
    else:
        proba_target = joint_of_rows(model, take_rows(targets, picked), n_index, chunk_size)
        scores = score_pool(model, X_pool, partial(priorities.epig, proba_target=proba_target),
                            n_index, chunk_size, rng, n_jobs)
    indices = select_top(scores, n_instances, rng)
    return indices, scores[indices]


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
    check_n_jobs(n_jobs)
    model = as_model(classifier)
    model.require_enn("batchbald")
    rng = check_random_state(random_state)

    if n_candidates is not None:
        n_candidates = _check_n_candidates(n_candidates, n_instances, n_pool)
    if n_candidates is not None and n_candidates < n_pool:
        candidates, _ = _top_candidates(model, X_pool, priorities.bald, n_candidates,
                                        n_index, chunk_size, rng, n_jobs)
        proba = joint_of_rows(model, take_rows(X_pool, candidates), n_index, chunk_size)
    else:
        candidates = np.arange(n_pool)
        proba = joint_of_rows(model, X_pool, n_index, chunk_size)
    picks, gains = priorities.batchbald_select(
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
    model = as_model(classifier)
    features = model.features(X_pool)
    initial = _labelled_features(model, X_labelled)
    return priorities.kcenter_greedy(
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
    check_n_jobs(n_jobs)
    model = as_model(classifier)
    if priority_name in priorities.EPISTEMIC_PRIORITIES:
        model.require_enn(priority_name)
    rng = check_random_state(random_state)

    candidates, scores = _top_candidates(model, X_pool, priority, n_candidates, n_index,
                                         chunk_size, rng, n_jobs)
    picks = [0]
    if n_instances > 1:
        features = model.features(take_rows(X_pool, candidates))
        initial = _labelled_features(model, X_labelled)
        first = features[:1]
        initial = first if initial is None else np.concatenate([initial, first])
        rest, _ = priorities.kcenter_greedy(
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
    "epig": epig,
    "batchbald": batchbald,
    "coreset": coreset,
    "uncertain_diverse": uncertain_diverse,
}
"""dict : Strategy name -> strategy function."""

"""Acquisition priorities computed from joint class probabilities.

Every priority takes the joint prediction of an epistemic neural network,
an array ``proba`` of shape ``(n_index, n_samples, n_classes)`` whose entry
``proba[a, i, c]`` is the probability of class ``c`` for row ``i`` under
index sample ``a``, and returns one score per row, shape ``(n_samples,)``;
a higher score means "label this row first" (Osband et al., 2023, §2.3).

With ``pbar[i] = mean_a proba[a, i]`` and ``H(q) = -sum_c q_c log q_c``:

================  ==========================================  ==========
name              score                                       kind
================  ==========================================  ==========
uniform           ``U(0, 1)``                                 baseline
entropy           ``H(pbar)``                                 marginal
margin            ``-(pbar_top1 - pbar_top2)``                marginal
least_confidence  ``1 - max_c pbar_c``                        marginal
bald              ``H(pbar) - mean_a H(proba[a])``            epistemic
variance          ``sum_c Var_a(proba[a, i, c])``             epistemic
================  ==========================================  ==========

Marginal priorities only see ``pbar`` and cannot tell inherently ambiguous
rows from rows the model has not learnt yet; epistemic priorities measure
how much the index samples disagree, which more data would resolve.

:func:`epig` scores a row by what its label would tell about the labels of
*other* inputs, a sample of where the model will be used (Bickford Smith et
al., 2023): it needs the joint prediction of those target inputs too, so it
is not in :data:`PRIORITIES`.

Beyond scoring rows one by one, :func:`batchbald_select` picks a batch that
is jointly informative (Kirsch et al., 2019) and :func:`kcenter_greedy`
picks a batch that covers feature space (Sener & Savarese, 2018).

Everything here is plain numpy and computes in float64.
"""


import numpy as np
from sklearn.utils import check_random_state

from .utils import check_n_instances, is_integer

__all__ = [
    "uniform",
    "entropy",
    "margin",
    "least_confidence",
    "bald",
    "variance",
    "epig",
    "PRIORITIES",
    "EPISTEMIC_PRIORITIES",
    "MARGINAL_PRIORITIES",
    "batchbald_select",
    "kcenter_greedy",
]

# Elements per temporary block in batchbald_select and kcenter_greedy (32 MB of float64).
_BLOCK_ELEMENTS = 1 << 22


# -- validation ----------------------------------------------------------------


def _validate_proba(proba, name="proba"):
    """Check the shape and values of a joint prediction; keep its dtype."""
    proba = np.asarray(proba)
    if proba.ndim != 3:
        raise ValueError(
            f"{name} must be a 3-D array of shape (n_index, n_samples, n_classes), "
            f"got an array of shape {proba.shape}. For marginal probabilities of "
            f"shape (n_samples, n_classes), pass {name}[None]."
        )
    if proba.shape[0] < 1 or proba.shape[2] < 1:
        raise ValueError(
            f"{name} must have at least one index sample and one class, got shape "
            f"{proba.shape} (n_index, n_samples, n_classes)."
        )
    if not np.issubdtype(proba.dtype, np.number) or np.iscomplexobj(proba):
        raise ValueError(f"{name} must hold real numbers, got dtype {proba.dtype}.")
    if proba.size and not (np.isfinite(proba).all() and proba.min() >= 0.0):
        raise ValueError(
            f"{name} must hold probabilities (finite, non-negative); it contains "
            "NaN, infinite or negative values. Pass softmax outputs, not logits."
        )
    return proba


def _check_proba(proba, name="proba"):
    """Return ``proba`` validated, as float64 of shape (n_index, n_samples, n_classes)."""
    return _validate_proba(proba, name).astype(np.float64, copy=False)


# -- numerics ------------------------------------------------------------------


def _mean_over_index(x):
    """Mean over axis 0, exact when every index sample agrees.

    ``sum(n copies of v) / n`` need not round back to ``v``; averaging the
    deviations from the first sample does, which makes bald and variance
    exactly 0 for a model without epistemic uncertainty.
    """
    return x[0] + (x - x[0]).mean(axis=0)


def _entropy(q, axis=-1):
    """Shannon entropy in nats along ``axis``, with ``0 log 0 = 0``."""
    positive = q > 0
    log_q = np.log(q, out=np.zeros_like(q), where=positive)
    return -np.sum(q * log_q, axis=axis)


# -- priorities ----------------------------------------------------------------


def uniform(proba, random_state=None):
    """Uniform random scores: the baseline that ignores the model.

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities; only the number of rows is used.
    random_state : int, RandomState instance or None (default=None)
        Seed or generator of the scores.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        Independent draws from ``U(0, 1)``.
    """
    proba = _check_proba(proba)
    return check_random_state(random_state).uniform(size=proba.shape[1])


def entropy(proba):
    """Entropy of the mean prediction, ``H(pbar)`` (marginal).

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        In ``[0, log(n_classes)]``, maximal for a uniform ``pbar``.
    """
    return _entropy(_mean_over_index(_check_proba(proba)))


def margin(proba):
    """Negative gap between the two most probable classes of ``pbar`` (marginal).

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        ``-(pbar_top1 - pbar_top2)``, in ``[-1, 0]``; 0 when the top two
        classes tie. With a single class the runner-up counts as 0.
    """
    pbar = _mean_over_index(_check_proba(proba))
    if pbar.shape[1] == 1:
        return -pbar[:, 0]
    top2 = np.partition(pbar, -2, axis=1)[:, -2:]
    return top2[:, 0] - top2[:, 1]


def least_confidence(proba):
    """One minus the largest class probability of ``pbar`` (marginal).

    Also known as variation ratio.

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        ``1 - max_c pbar_c``, in ``[0, 1 - 1/n_classes]``.
    """
    return 1.0 - _mean_over_index(_check_proba(proba)).max(axis=1)


def bald(proba):
    """Mutual information between the label and the epistemic index (epistemic).

    BALD (Houlsby et al., 2011): the entropy of the mean prediction minus the
    mean entropy of the index samples' predictions.

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        ``H(pbar) - mean_a H(proba[a])``, non-negative (round-off below 0 is
        clipped) and exactly 0 where all index samples agree.
    """
    proba = _check_proba(proba)
    scores = _entropy(_mean_over_index(proba)) - _mean_over_index(_entropy(proba))
    return np.maximum(scores, 0.0)


def variance(proba):
    """Total variance of the class probabilities over index samples (epistemic).

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        ``sum_c Var_a(proba[a, i, c])`` with the population variance (divide
        by ``n_index``); exactly 0 where all index samples agree.
    """
    proba = _validate_proba(proba)
    # Shifting by the first sample keeps agreeing samples exactly at 0 and
    # avoids the cancellation of E[p^2] - E[p]^2. The float64 deviations are
    # made straight from the input and squared in place: a pool is scored in
    # large chunks, and each full-size temporary is another pass over memory.
    deviation = np.subtract(proba, proba[0], dtype=np.float64)
    deviation -= deviation.mean(axis=0)
    np.square(deviation, out=deviation)
    return np.sum(np.mean(deviation, axis=0), axis=1)


def epig(proba, proba_target):
    """Expected predictive information gain about target inputs (epistemic).

    EPIG (Bickford Smith et al., 2023): the mutual information between a
    row's label ``y`` and the label ``y*`` of a target input, averaged over
    the targets, under the ENN's joint prediction::

        p(y, y*) = mean_a proba[a, i, y] * proba_target[a, j, y*]
        EPIG[i]  = mean_j KL(p(y, y*) || p(y) p(y*))

    Unlike :func:`bald` and :func:`variance`, which reward any disagreement
    between index samples, EPIG only rewards disagreement that the targets
    share: a row far from every target (an outlier) or one whose label is a
    coin flip the index samples agree on scores little.

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities of the rows to score.
    proba_target : array-like of shape (n_index, n_targets, n_classes)
        Joint class probabilities of the target inputs, under the *same*
        index samples (skepinet estimators use the same ones in every call).

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64
        Non-negative nats, exactly 0 where all index samples agree.
    """
    proba = _check_proba(proba)
    target = _check_proba(proba_target, "proba_target")
    if target.shape[0] != proba.shape[0] or target.shape[2] != proba.shape[2]:
        raise ValueError(
            f"proba_target must have proba's index samples and classes: got shape "
            f"{target.shape} for proba of shape {proba.shape}. Predict both with the "
            "same model and n_index."
        )
    n_index, n_samples, n_classes = proba.shape
    n_targets = target.shape[1]
    if n_targets == 0:
        raise ValueError("proba_target has no target inputs; pass at least one.")
    target_mean = _mean_over_index(target)                          # (n_targets, C)
    # p(y, y*) = p(y) p(y*) + cov_a(p_a(y), p_a(y*)): written through the covariance,
    # the KL is exactly 0 where the index samples agree and has no cancellation.
    target_dev = (target - target_mean).reshape(n_index, n_targets * n_classes)
    scores = np.empty(n_samples)
    # (rows, C, targets, C) temporaries, a block of rows at a time.
    step = max(1, _BLOCK_ELEMENTS // (n_targets * n_classes * n_classes))
    for start in range(0, n_samples, step):
        part = proba[:, start:start + step]
        rows = part.shape[1]
        mean = _mean_over_index(part)
        deviation = (part - mean).reshape(n_index, rows * n_classes)
        cov = ((deviation.T @ target_dev) / n_index).reshape(rows, n_classes, n_targets,
                                                             n_classes)
        product = mean[:, :, None, None] * target_mean[None, None]
        joint = np.maximum(product + cov, 0.0)
        # log(joint / product) = log1p(cov / product); a zero joint adds nothing.
        relative = np.divide(cov, product, out=np.zeros_like(cov), where=joint > 0)
        # joint > 0 means relative > -1, but rounding can land on -1 itself.
        np.maximum(relative, np.nextafter(-1.0, 0.0), out=relative)
        kl = np.sum(joint * np.log1p(relative), axis=(1, 3))
        scores[start:start + rows] = kl.mean(axis=1)
    return np.maximum(scores, 0.0)


PRIORITIES = {
    "uniform": uniform,
    "entropy": entropy,
    "margin": margin,
    "least_confidence": least_confidence,
    "bald": bald,
    "variance": variance,
}
"""dict : Priority name -> function of ``proba``, higher = query first."""

EPISTEMIC_PRIORITIES = frozenset({"bald", "variance"})
"""frozenset : Priorities that need several index samples to be informative."""

MARGINAL_PRIORITIES = frozenset({"entropy", "margin", "least_confidence"})
"""frozenset : Priorities that only use the mean prediction ``pbar``."""


# -- BatchBALD -----------------------------------------------------------------


def _argmax_random_tie(scores, rng):
    best = np.flatnonzero(scores == scores.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def _config_weights(joint):
    """Posterior over index samples per label configuration, and ``p(config)``.

    ``joint[a, s]`` is ``prod_j p[a, i_j, y_j(s)]``. Dividing each column by
    its sum keeps the numbers O(1) however long the product gets; columns
    that underflowed to 0 carry no probability and get weight 0.
    """
    total = joint.sum(axis=0)
    alive = total > 0
    posterior = np.full_like(joint, 1.0 / joint.shape[0])
    posterior[:, alive] = joint[:, alive] / total[alive]
    return posterior, total / joint.shape[0]


def _exact_configs(proba, chosen):
    """Enumerate every label configuration of ``chosen``: (n_index, C**k) products."""
    n_index = proba.shape[0]
    joint = np.ones((n_index, 1))
    for i in chosen:
        joint = (joint[:, :, None] * proba[:, i, None, :]).reshape(n_index, -1)
    posterior, p_config = _config_weights(joint)
    return posterior, p_config


def _sampled_configs(proba, chosen, n_configs, rng):
    """Sample configurations of ``chosen`` from their joint predictive.

    Ancestral sampling: draw an index sample ``a`` uniformly, then each label
    from ``proba[a, i_j]``. Each configuration then enters the expectation
    with weight ``1 / n_configs`` (the Monte Carlo estimate of BatchBALD's
    section 3.3), not ``p(config)``.
    """
    n_index = proba.shape[0]
    anchors = rng.randint(n_index, size=n_configs)
    joint = np.ones((n_index, n_configs))
    for i in chosen:
        p_i = proba[:, i].astype(np.float64)
        cdf = np.cumsum(p_i[anchors], axis=1)
        draws = rng.uniform(size=(n_configs, 1)) * cdf[:, -1:]
        labels = np.minimum((draws >= cdf).sum(axis=1), p_i.shape[1] - 1)
        joint *= p_i[:, labels]
    posterior, _ = _config_weights(joint)
    return posterior, np.full(n_configs, 1.0 / n_configs)


def _conditional_entropy(proba, posterior, weights, block_rows):
    """``sum_s weights[s] * H(y_i | configuration s)`` for every candidate ``i``.

    ``p(y_i = c | s) = sum_a posterior[a, s] * proba[a, i, c]``: one matrix
    product per block of candidates, so memory stays at
    ``n_configs * block_rows * n_classes`` floats.
    """
    n_index, n_samples, n_classes = proba.shape
    out = np.empty(n_samples)
    for start in range(0, n_samples, block_rows):
        block = proba[:, start : start + block_rows].astype(np.float64)
        rows = block.shape[1]
        predictive = posterior.T @ block.reshape(n_index, rows * n_classes)
        predictive = predictive.reshape(-1, rows, n_classes)
        out[start : start + rows] = weights @ _entropy(predictive)
    return out


def batchbald_select(proba, n_instances, *, max_configs=1024, random_state=None):
    """Greedy BatchBALD: a batch that is informative jointly, not row by row.

    Top-n BALD happily picks ``n`` near-duplicates; BatchBALD (Kirsch et al.,
    2019) instead maximises the mutual information between the batch's
    labels and the epistemic index,
    ``I(y_1..y_k; z) = H(y_1..y_k) - sum_j E_z H(y_j | z)``, greedily: at each
    step it adds the row with the largest gain
    ``H(y_i | y_chosen) - E_z H(y_i | z)``, which is plain BALD for the
    first row and small for a row whose label the chosen ones already tell.

    Because every row is predicted under the same index samples,
    ``p(y_1..y_k) = mean_a prod_j proba[a, i_j, y_j]``: the running product
    over chosen rows, of shape ``(n_index, n_configs)``, is all the state
    needed. While ``n_classes ** k <= max_configs`` every label
    configuration is enumerated exactly; beyond that, ``max_configs``
    configurations are sampled from the joint predictive of the chosen rows
    (a fresh sample each step, seeded by ``random_state``) and the
    conditional entropy is their Monte Carlo average.

    Parameters
    ----------
    proba : array-like of shape (n_index, n_samples, n_classes)
        Joint class probabilities of the candidates; float32 is kept as is
        and converted block by block.
    n_instances : int
        Batch size, between 1 and ``n_samples``.
    max_configs : int (default=1024)
        Largest number of label configurations enumerated exactly, and the
        number sampled beyond it. Time per step grows as
        ``max_configs * n_index * n_samples * n_classes``.
    random_state : int, RandomState instance or None (default=None)
        Seeds configuration sampling and breaks exact ties between gains.

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Chosen rows, in the order they were picked.
    gains : ndarray of shape (n_instances,), float64
        Each pick's gain in joint mutual information (nats), non-negative
        up to Monte Carlo error (round-off below 0 is clipped). Their sum
        estimates the batch's BatchBALD score.
    """
    # Candidates are converted to float64 block by block, not all at once.
    proba = _validate_proba(proba)
    if not np.issubdtype(proba.dtype, np.floating):
        proba = proba.astype(np.float64)
    n_index, n_samples, n_classes = proba.shape
    n_instances = check_n_instances(n_instances, n_samples)
    if not is_integer(max_configs) or max_configs < 1:
        raise ValueError(
            f"max_configs must be a positive integer, got {max_configs!r}; "
            "pass e.g. max_configs=1024."
        )
    rng = check_random_state(random_state)

    # E_z H(y_i | z) does not depend on the batch: compute it once.
    expected_entropy = np.empty(n_samples)
    block_rows = max(1, _BLOCK_ELEMENTS // (n_index * n_classes))
    for start in range(0, n_samples, block_rows):
        block = proba[:, start : start + block_rows].astype(np.float64)
        expected_entropy[start : start + block.shape[1]] = _mean_over_index(_entropy(block))

    chosen, gains = [], []
    available = np.ones(n_samples, dtype=bool)
    for _ in range(n_instances):
        if n_classes ** len(chosen) <= max_configs:
            posterior, weights = _exact_configs(proba, chosen)
        else:
            posterior, weights = _sampled_configs(proba, chosen, max_configs, rng)
        block_rows = max(1, _BLOCK_ELEMENTS // (posterior.shape[1] * n_classes))
        gain = _conditional_entropy(proba, posterior, weights, block_rows) - expected_entropy
        gain = np.maximum(gain, 0.0)
        gain[~available] = -np.inf
        best = _argmax_random_tie(gain, rng)
        chosen.append(best)
        gains.append(gain[best])
        available[best] = False
    return np.asarray(chosen, dtype=np.int64), np.asarray(gains, dtype=np.float64)


# -- k-center greedy -------------------------------------------------------------


def _check_features(features, name):
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), got "
            f"an array of shape {features.shape}."
        )
    if not np.issubdtype(features.dtype, np.number):
        raise ValueError(f"{name} must hold numbers, got dtype {features.dtype}.")
    features = features.astype(np.float64, copy=False)
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return features


def _min_sq_distance(features, sq_norms, centres):
    """Squared distance from every row to its nearest centre, in blocks of centres."""
    out = np.full(len(features), np.inf)
    block = max(1, _BLOCK_ELEMENTS // max(len(features), 1))
    for start in range(0, len(centres), block):
        c = centres[start : start + block]
        d2 = sq_norms[:, None] - 2.0 * (features @ c.T) + np.einsum("ij,ij->i", c, c)[None]
        np.minimum(out, d2.min(axis=1), out=out)
    return np.maximum(out, 0.0)


def kcenter_greedy(features, n_instances, initial=None, *, random_state=None):
    """Greedy k-center (core-set) selection: cover feature space.

    Each step picks the row farthest from its nearest centre and makes it a
    centre (Sener & Savarese, 2018); this 2-approximates the k-center
    problem. Only one vector of nearest-centre distances is kept and updated
    per pick, so memory is ``O(n_samples)`` beyond the features themselves
    and time ``O(n_samples * (n_initial + n_instances) * n_features)``.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Candidate feature vectors (e.g. ``classifier.embed(X_pool)``).
    n_instances : int
        Number of rows to pick, between 1 and ``n_samples``.
    initial : array-like of shape (n_initial, n_features) or None (default=None)
        Existing centres, typically the features of labelled rows. Without
        them the first pick is a uniformly random row.
    random_state : int, RandomState instance or None (default=None)
        Seeds the first pick (when ``initial`` is empty) and breaks exact
        ties between distances.

    Returns
    -------
    indices : ndarray of shape (n_instances,), int64
        Chosen rows, in the order they were picked.
    distances : ndarray of shape (n_instances,), float64
        Euclidean distance of each pick to its nearest centre when it was
        picked; ``inf`` for a first pick made without ``initial`` centres.
    """
    features = _check_features(features, "features")
    n_samples = len(features)
    n_instances = check_n_instances(n_instances, n_samples)
    rng = check_random_state(random_state)
    sq_norms = np.einsum("ij,ij->i", features, features)

    min_sq = np.full(n_samples, np.inf)
    if initial is not None:
        initial = _check_features(initial, "initial")
        if initial.shape[1] != features.shape[1]:
            raise ValueError(
                f"initial has {initial.shape[1]} features but features has "
                f"{features.shape[1]}; both must come from the same embedding."
            )
        if len(initial):
            min_sq = _min_sq_distance(features, sq_norms, initial)

    chosen, distances = [], []
    for _ in range(n_instances):
        best = _argmax_random_tie(min_sq, rng)
        chosen.append(best)
        distances.append(np.sqrt(min_sq[best]))
        new_centre = features[best : best + 1]
        np.minimum(min_sq, _min_sq_distance(features, sq_norms, new_centre), out=min_sq)
        # Round-off can leave a chosen row a hair above 0; it must never win again.
        min_sq[chosen] = -1.0
    return np.asarray(chosen, dtype=np.int64), np.asarray(distances, dtype=np.float64)

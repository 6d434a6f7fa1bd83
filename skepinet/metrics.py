"""Metrics of the paper's benchmarks: marginal and joint log-loss, accuracy, labels saved.

The synthetic testbed (Osband et al., ``neural_testbed``) scores an agent's
predictive distribution two ways:

- **marginal**: mean test log-loss ``-log p(y | x)`` of the mean prediction,
  and accuracy;
- **joint** (*dyadic*, ``tau = 10``): for each of ``n_dyads`` test seeds,
  draw two anchor inputs, draw ``tau`` points from them with replacement,
  sample their labels from the *true* distribution, and score
  ``-log(mean_m exp(sum_t log p(y_t | x_t, z_m)))`` over ``M`` index samples
  ``z_m`` (the same ones for every seed). Only a model that knows what it
  does not know assigns the repeated labels a high joint likelihood.

The headline metric of the paper's language-model section is
**labels-to-match**: the number of labels at which an agent's learning curve
first reaches the baseline's full-data performance, as a fraction of the
pool (infinite if never), aggregated across tasks by a geometric mean.

Every function here is pure numpy, except :func:`evaluate_enn`, which calls
an estimator's ``predict_proba_joint``.
"""

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from .utils import DEFAULT_N_INDEX, check_positive_int

__all__ = [
    "accuracy",
    "marginal_log_loss",
    "sample_dyads",
    "dyadic_joint_log_loss",
    "marginal_kl",
    "dyadic_kl",
    "evaluate_enn",
    "labels_to_match",
    "geometric_mean",
]

_EPS = 1e-12


def _check_proba_2d(proba, name="proba"):
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, n_classes), got {proba.shape}; for a joint "
            "prediction of shape (n_index, n_samples, n_classes) average over axis 0 first."
        )
    return proba


def _check_labels(y_true, n_samples, n_classes):
    y = np.asarray(y_true)
    if y.shape != (n_samples,):
        raise ValueError(f"y_true must have shape ({n_samples},), got {y.shape}.")
    in_range = y.min(initial=0) >= 0 and y.max(initial=0) < n_classes
    if not np.issubdtype(y.dtype, np.integer) or not in_range:
        raise ValueError(
            f"y_true must hold class positions 0..{n_classes - 1} (columns of proba); "
            "encode string labels with np.searchsorted(estimator.classes_, y) first."
        )
    return y


def accuracy(y_true, proba):
    """Fraction of rows whose most probable class is the true one.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class positions (columns of ``proba``).
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.

    Returns
    -------
    accuracy : float
    """
    proba = _check_proba_2d(proba)
    y = _check_labels(y_true, *proba.shape)
    return float(np.mean(proba.argmax(axis=1) == y))


def marginal_log_loss(y_true, proba):
    """Mean negative log-likelihood ``-log p(y | x)`` of the true labels (nats).

    Probabilities are clipped at 1e-12, so a confident mistake costs about
    27.6 nats rather than infinity.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class positions (columns of ``proba``).
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (the mean over index samples for an
        ENN).

    Returns
    -------
    log_loss : float
    """
    proba = _check_proba_2d(proba)
    y = _check_labels(y_true, *proba.shape)
    picked = proba[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(picked, _EPS, 1.0))))


def sample_dyads(true_proba, *, tau=10, n_dyads=1000, random_state=None):
    """Draw the test batches of the dyadic joint log-loss.

    Parameters
    ----------
    true_proba : array-like of shape (n_test, n_classes)
        The true class probabilities of the test inputs (from
        :func:`~skepinet.datasets.make_testbed_classification` with
        ``return_proba=True``).
    tau : int (default=10)
        Points per batch, drawn with replacement from two anchors.
    n_dyads : int (default=1000)
        Number of batches (test seeds).
    random_state : int, RandomState instance or None (default=None)
        Seeds the anchors, the draws and the labels.

    Returns
    -------
    rows : ndarray of shape (n_dyads, tau), int64
        Test rows of each batch.
    labels : ndarray of shape (n_dyads, tau), int64
        Labels sampled from ``true_proba`` at those rows.
    """
    true_proba = _check_proba_2d(true_proba, "true_proba")
    tau = check_positive_int(tau, "tau", 10)
    n_dyads = check_positive_int(n_dyads, "n_dyads", 1000)
    n_test = len(true_proba)
    if n_test < 2:
        raise ValueError(f"the dyadic metric needs at least 2 test rows, got {n_test}.")
    rng = check_random_state(random_state)
    anchors = np.stack([rng.choice(n_test, size=2, replace=False) for _ in range(n_dyads)])
    rows = np.take_along_axis(anchors, rng.randint(0, 2, size=(n_dyads, tau)), axis=1)
    cumulative = np.cumsum(true_proba[rows], axis=-1)
    labels = (cumulative > rng.random_sample((n_dyads, tau, 1))).argmax(axis=-1)
    return rows.astype(np.int64), labels.astype(np.int64)


def dyadic_joint_log_loss(joint_proba, rows, labels):
    """Joint log-loss of batches of test points (the testbed's dyadic metric).

    For each batch ``s`` this is
    ``-log(mean_m prod_t p(labels[s, t] | x_rows[s, t], z_m))``, computed in
    log space; the result is the mean over batches, divided by nothing (a
    batch of ``tau`` points costs about ``tau`` times a marginal log-loss).

    Parameters
    ----------
    joint_proba : array-like of shape (n_index, n_test, n_classes)
        Class probabilities of each test row under each of ``n_index``
        index samples (``predict_proba_joint``); a deterministic model has
        ``n_index=1``.
    rows, labels : ndarray of shape (n_dyads, tau)
        The batches, from :func:`sample_dyads`.

    Returns
    -------
    joint_log_loss : float
    """
    joint = np.asarray(joint_proba, dtype=np.float64)
    if joint.ndim != 3:
        raise ValueError(
            f"joint_proba must have shape (n_index, n_test, n_classes), got {joint.shape}; "
            "use estimator.predict_proba_joint(X_test), or proba[None] for a plain model."
        )
    rows, labels = np.asarray(rows), np.asarray(labels)
    if rows.shape != labels.shape or rows.ndim != 2:
        raise ValueError(
            f"rows and labels must both have shape (n_dyads, tau), got {rows.shape} and "
            f"{labels.shape}; draw them with sample_dyads()."
        )
    log_p = np.log(np.clip(joint[:, rows, labels], _EPS, 1.0))  # (n_index, n_dyads, tau)
    batch_log_lik = log_p.sum(axis=-1)
    log_mean = logsumexp(batch_log_lik, axis=0) - np.log(joint.shape[0])
    return float(-np.mean(log_mean))


def marginal_kl(true_proba, proba):
    """Mean ``KL(p_true(. | x) || p(. | x))`` over test inputs: the testbed's marginal KL (tau = 1).

    Computed exactly over the labels, where the testbed samples them: the
    expected log-loss minus the true entropy.

    Parameters
    ----------
    true_proba : array-like of shape (n_test, n_classes)
        True class probabilities.
    proba : array-like of shape (n_test, n_classes)
        Predicted (marginal) class probabilities.

    Returns
    -------
    kl : float
        In nats, >= 0.
    """
    true_proba = _check_proba_2d(true_proba, "true_proba")
    proba = _check_proba_2d(proba)
    if proba.shape != true_proba.shape:
        raise ValueError(
            f"proba has shape {proba.shape} but true_proba {true_proba.shape}; predict the "
            "same test rows."
        )
    log_ratio = np.log(np.clip(true_proba, _EPS, 1.0)) - np.log(np.clip(proba, _EPS, 1.0))
    return float(np.mean(np.sum(true_proba * log_ratio, axis=1)))


def dyadic_kl(joint_proba, true_proba, rows, labels):
    """The testbed's joint KL: true minus agent joint log-likelihood of dyadic batches.

    ``mean_s [sum_t log p_true(y_st | x_st) - log mean_m prod_t p(y_st | x_st, z_m)]``,
    an unbiased estimate of the KL divergence between the true and the
    agent's joint distributions of ``tau`` labels (``neural_testbed``'s
    ``likelihood``); it is :func:`dyadic_joint_log_loss` minus the true
    labels' joint log-loss.

    Parameters
    ----------
    joint_proba : array-like of shape (n_index, n_test, n_classes)
        The agent's joint prediction.
    true_proba : array-like of shape (n_test, n_classes)
        True class probabilities.
    rows, labels : ndarray of shape (n_dyads, tau)
        The batches, from :func:`sample_dyads` on ``true_proba``.

    Returns
    -------
    kl : float
        In nats; an estimate, so slightly negative values can occur.
    """
    true_proba = _check_proba_2d(true_proba, "true_proba")
    agent = dyadic_joint_log_loss(joint_proba, rows, labels)
    true_log_p = np.log(np.clip(true_proba[np.asarray(rows), np.asarray(labels)], _EPS, 1.0))
    return float(agent + true_log_p.sum(axis=-1).mean())


def evaluate_enn(estimator, X_test, y_test, true_proba=None, *, n_index=DEFAULT_N_INDEX, tau=10, n_dyads=1000,
                 random_state=0):
    """Accuracy, marginal log-loss and (given ``true_proba``) dyadic joint log-loss.

    Parameters
    ----------
    estimator : fitted classifier
        A skepinet estimator, or any classifier with ``predict_proba`` (its
        joint prediction is then its marginal one, with one index sample).
    X_test : array-like of shape (n_test, ...)
        Test inputs.
    y_test : array-like of shape (n_test,)
        Test labels, as the estimator's ``classes_`` spell them.
    true_proba : array-like of shape (n_test, n_classes) or None (default=None)
        True class probabilities; required for the joint log-loss.
    n_index : int (default=100)
        Index samples of the joint prediction.
    tau : int (default=10)
        Points per dyadic batch.
    n_dyads : int (default=1000)
        Dyadic batches.
    random_state : int, RandomState instance or None (default=0)
        Seeds the dyadic batches; keep it fixed to compare agents on the
        same batches.

    Returns
    -------
    metrics : dict
        ``accuracy``, ``log_loss`` and, with ``true_proba``,
        ``joint_log_loss``.
    """
    classes = np.asarray(estimator.classes_)
    y = np.searchsorted(classes, np.asarray(y_test))
    if not np.array_equal(classes[np.clip(y, 0, len(classes) - 1)], np.asarray(y_test)):
        raise ValueError(
            f"y_test holds labels the estimator never saw; its classes_ are {classes.tolist()}."
        )
    proba = estimator.predict_proba(X_test)
    metrics = {"accuracy": accuracy(y, proba), "log_loss": marginal_log_loss(y, proba)}
    if true_proba is None:
        return metrics
    rows, labels = sample_dyads(true_proba, tau=tau, n_dyads=n_dyads, random_state=random_state)
    # Only the anchor rows are predicted: 2 * n_dyads rows at most, whatever n_test.
    needed, position = np.unique(rows, return_inverse=True)
    X_needed = X_test[needed] if not isinstance(X_test, list) else [X_test[i] for i in needed]
    if hasattr(estimator, "predict_proba_joint"):
        joint = estimator.predict_proba_joint(X_needed, n_index=n_index)
    else:
        joint = estimator.predict_proba(X_needed)[None]
    metrics["joint_log_loss"] = dyadic_joint_log_loss(joint, position.reshape(rows.shape), labels)
    return metrics


def labels_to_match(labels, scores, target, *, greater_is_better=True):
    """Labels at which a learning curve first reaches ``target`` (``inf`` if never).

    Parameters
    ----------
    labels : array-like of shape (n_points,)
        Labels used at each point of the curve, increasing.
    scores : array-like of shape (n_points,)
        The metric at each point (e.g. accuracy, or log-loss with
        ``greater_is_better=False``).
    target : float
        The level to reach (the baseline's full-data score).
    greater_is_better : bool (default=True)
        Direction of the metric.

    Returns
    -------
    n_labels : float
        The first ``labels`` value whose score is at least as good as
        ``target``; ``numpy.inf`` if none is.
    """
    labels, scores = np.asarray(labels, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-d and of the same length, got {labels.shape} and "
            f"{scores.shape}."
        )
    if np.any(np.diff(labels) < 0):
        raise ValueError("labels must be in increasing order (a learning curve).")
    reached = scores >= target if greater_is_better else scores <= target
    return float(labels[np.argmax(reached)]) if reached.any() else float("inf")


def geometric_mean(values):
    """Geometric mean of positive values; ``inf`` if any value is infinite.

    Parameters
    ----------
    values : array-like of shape (n,)
        Positive numbers, e.g. label ratios of several tasks.

    Returns
    -------
    mean : float
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.any(values <= 0) or np.any(np.isnan(values)):
        raise ValueError(f"geometric_mean needs positive values, got {values.tolist()}.")
    if np.any(np.isinf(values)):
        return float("inf")
    return float(np.exp(np.mean(np.log(values))))

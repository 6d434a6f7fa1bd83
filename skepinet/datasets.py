"""Data: the paper's synthetic testbed (a random MLP generative model).

``neural_testbed``'s classification problems: inputs ``x ~ N(0, I_D)``,
labels drawn from the softmax of a random ReLU MLP's logits divided by a
temperature. Low temperatures give nearly deterministic labels; high ones
give label noise that marginal priorities chase.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_testbed_classification"]


def _truncated_normal(rng, shape, std):
    """Normal samples cut at two standard deviations (by resampling)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(bad.sum())
        bad = np.abs(out) > 2
    return out * std


def _random_mlp(rng, sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = _truncated_normal(rng, (n_in, n_out), 1 / np.sqrt(n_in))
        bias = rng.normal(0, 1 / np.sqrt(n_in), n_out) if i == 0 else np.zeros(n_out)
        layers.append((weight, bias))
    return layers


def _mlp_logits(layers, X):
    h = X
    for i, (weight, bias) in enumerate(layers):
        h = h @ weight + bias
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


def make_testbed_classification(n_samples=1000, *, input_dim=10, num_classes=2, temperature=0.1,
                                hidden_sizes=(50, 50), random_state=None, return_proba=False):
    """Sample a classification problem from a random MLP (the paper's testbed).

    Parameters
    ----------
    n_samples : int (default=1000)
        Number of rows. Draw train and test rows in one call (then split) so
        they share the generating network.
    input_dim : int (default=10)
        Input dimension ``D``.
    num_classes : int (default=2)
        Number of classes ``C``.
    temperature : float (default=0.1)
        Logits are divided by it; larger means noisier labels (testbed
        values: 0.01, 0.1, 0.5).
    hidden_sizes : tuple of int (default=(50, 50))
        Widths of the generating MLP.
    random_state : int, RandomState or None (default=None)
        Seeds the network, the inputs and the labels.
    return_proba : bool (default=False)
        Also return the true class probabilities.

    Returns
    -------
    X : ndarray of shape (n_samples, input_dim), float32
    y : ndarray of shape (n_samples,), int64
    proba : ndarray of shape (n_samples, num_classes)
        Only with ``return_proba=True``.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}; e.g. 0.1.")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    layers = _random_mlp(rng, [input_dim, *hidden_sizes, num_classes])
    X = rng.standard_normal((n_samples, input_dim))
    logits = _mlp_logits(layers, X) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    y = (proba.cumsum(axis=1) > rng.random((n_samples, 1))).argmax(axis=1)
    X, y = X.astype(np.float32), y.astype(np.int64)
    return (X, y, proba) if return_proba else (X, y)

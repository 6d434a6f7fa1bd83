"""The testbed's problems: a random-MLP generative model's pool, test set and true probabilities.

:mod:`skepinet.benchmarks.testbed` runs its agents on these; they are also
what the tuning probes under ``benchmarks/results/testbed-tuning`` draw.
"""

import numpy as np

from ..datasets import draw_labels, make_testbed_classification

__all__ = ["make_problem", "redraw_oracle"]


def make_problem(seed, *, temperature=0.1, input_dim=10, n_pool=1000, n_test=5000,
                 noisy_fraction=0.0, min_class_fraction=0.1):
    """One testbed problem: pool, test set and true test probabilities.

    A random MLP with a large output bias can give almost every input the
    same label (seed 6 at temperature 0.1 labels 999 of 1,000 pool rows
    alike), which leaves nothing to learn; such a problem is redrawn, from
    seeds ``seed + 10000``, ``seed + 20000``, ... until each class holds at
    least ``min_class_fraction`` of the pool.

    Parameters
    ----------
    seed : int
        Seeds the generating network and the data.
    temperature : float (default=0.1)
        Label noise: logits are divided by it.
    input_dim : int (default=10)
        Input dimension ``D``.
    n_pool, n_test : int (default=1000, 5000)
        Unlabelled pool and test set sizes.
    noisy_fraction : float (default=0.0)
        Fraction of inputs with coin-flip labels (a heteroscedastic
        problem; see :func:`~skepinet.datasets.make_testbed_classification`).
    min_class_fraction : float (default=0.1)
        Redraw problems whose pool has a rarer class than this.

    Returns
    -------
    problem : dict
        ``X_pool``, ``y_pool``, ``proba_pool``, ``X_test``, ``y_test``,
        ``proba_test``, and ``seed`` (the generator seed actually used).
    """
    for attempt in range(100):
        used = seed + 10_000 * attempt
        X, y, proba = make_testbed_classification(
            n_pool + n_test, n_features=input_dim, temperature=temperature,
            noisy_fraction=noisy_fraction, random_state=used, return_proba=True,
        )
        counts = np.bincount(y[:n_pool], minlength=proba.shape[1])
        if counts.min() >= min_class_fraction * n_pool:
            break
    else:
        raise ValueError(
            f"no problem with every class at least {min_class_fraction:.0%} of the pool in 100 "
            f"draws from seed {seed}; lower min_class_fraction."
        )
    return {"X_pool": X[:n_pool], "y_pool": y[:n_pool], "proba_pool": proba[:n_pool],
            "X_test": X[n_pool:], "y_test": y[n_pool:], "proba_test": proba[n_pool:],
            "seed": used}


def redraw_oracle(proba, seed):
    """A callable oracle that draws a fresh label each time a row is asked about."""
    rng = np.random.default_rng([seed, 2])

    def oracle(rows, indices):
        return draw_labels(proba[np.asarray(indices)], rng)

    return oracle

"""A modAL-style pool loop: query, ask for labels, teach, repeat.

The same code runs with ``modAL.models.ActiveLearner``; skepinet's learner
keeps working on current scikit-learn and pandas, and ``teach(..., only_new=True)``
trains incrementally instead of refitting from scratch.

    python examples/modal_style_loop.py
"""

import argparse

import numpy as np
from sklearn.datasets import make_classification

from skepinet import ActiveLearner, EpinetClassifier, bald


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)

    X, y = make_classification(n_samples=2000, n_features=10, n_informative=6, random_state=0)
    X_test, y_test = X[1500:], y[1500:]
    X_pool, y_pool = X[:1500], y[:1500]

    start = np.random.default_rng(0).choice(len(X_pool), size=20, replace=False)
    learner = ActiveLearner(
        estimator=EpinetClassifier(random_state=0, max_epochs=20),
        query_strategy=bald,
        X_training=X_pool[start],
        y_training=y_pool[start],
        random_state=0,
    )
    X_pool, y_pool = np.delete(X_pool, start, axis=0), np.delete(y_pool, start)

    print(f"{'labels':>6}  accuracy")
    for _ in range(args.rounds):
        query_idx, query_rows = learner.query(X_pool, n_instances=10)
        learner.teach(query_rows, y_pool[query_idx], only_new=True)
        # Queried rows leave the pool, so no row is labelled twice.
        X_pool, y_pool = np.delete(X_pool, query_idx, axis=0), np.delete(y_pool, query_idx)
        print(f"{len(learner.y_training):>6}  {learner.score(X_test, y_test):.3f}")
    return learner


if __name__ == "__main__":
    main()

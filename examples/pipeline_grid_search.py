"""Tune the supervised baseline with GridSearchCV inside a Pipeline.

The paper's baseline is a plain network whose hyperparameters are swept and
picked in hindsight. skepinet's estimators are ordinary scikit-learn
estimators, so ``Pipeline`` and ``GridSearchCV`` (with ``n_jobs``) just work;
the tuned settings then carry over to the epinet.

    python examples/pipeline_grid_search.py
"""

import argparse

from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skepinet import BaselineClassifier, EpinetClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny grid, for a smoke test")
    args = parser.parse_args(argv)

    X, y = make_classification(n_samples=1500, n_features=20, n_informative=8, random_state=0)
    X = X * 100 + 7  # badly scaled on purpose: the pipeline standardises it
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    pipe = make_pipeline(StandardScaler(), BaselineClassifier(random_state=0, max_epochs=30))
    grid = {
        "baselineclassifier__lr": [3e-4, 1e-3, 3e-3],
        "baselineclassifier__weight_decay": [0.0, 1e-3, 1e-2],
        "baselineclassifier__batch_size": [32, 128],
    }
    if args.quick:
        grid = {"baselineclassifier__lr": [1e-3, 3e-3]}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train, y_train)
    print("best baseline settings:", search.best_params_)
    print(f"baseline test accuracy: {search.score(X_test, y_test):.3f}")

    tuned = {key.split("__", 1)[1]: value for key, value in search.best_params_.items()}
    epinet = make_pipeline(StandardScaler(), EpinetClassifier(random_state=0, max_epochs=30, **tuned))
    epinet.fit(X_train, y_train)
    print(f"epinet test accuracy with the same settings: {epinet.score(X_test, y_test):.3f}")
    joint = epinet[-1].predict_proba_joint(epinet[:-1].transform(X_test), n_index=100)
    print(f"joint prediction shape (n_index, n_samples, n_classes): {joint.shape}")
    return search


if __name__ == "__main__":
    main()

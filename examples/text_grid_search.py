"""Tune the text baseline's learning rate with GridSearchCV.

A ``BaselineClassifier`` on the offline MiniLM encoder is an ordinary
scikit-learn estimator over lists of strings, so ``GridSearchCV`` works as
for any model. With a frozen encoder the features are cached after the first
fit, and every further candidate and fold trains only the head.

    python examples/text_grid_search.py --data-dir ../shared/data/glue
"""

import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV

from skepinet import BaselineClassifier
from skepinet.datasets import glue_data_dir, load_glue


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="GLUE folder (default: $GLUE_DIR)")
    parser.add_argument("--n-train", type=int, default=1000, help="training sentences (default 1000)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    args.data_dir = glue_data_dir(args.data_dir)

    X, y = load_glue("sst2", args.data_dir, split="train")
    X_dev, y_dev = load_glue("sst2", args.data_dir, split="validation")
    n_train = 120 if args.quick else args.n_train
    rows = np.random.default_rng(0).choice(len(X), size=n_train, replace=False)

    baseline = BaselineClassifier(backbone="bert", freeze_encoder=True, max_length=64,
                                  max_epochs=30, random_state=0)
    grid = {"lr": [1e-4, 1e-3] if args.quick else [1e-4, 3e-4, 1e-3, 3e-3]}
    # n_jobs=1: the frozen-feature cache lives in this process and is shared by all fits.
    search = GridSearchCV(baseline, grid, cv=3, n_jobs=1).fit(list(X[rows]), y[rows])
    for lr, score in zip(search.cv_results_["param_lr"], search.cv_results_["mean_test_score"]):
        print(f"lr={lr:<8g} cv accuracy {score:.3f}")
    print(f"best lr={search.best_params_['lr']:g}; dev accuracy "
          f"{search.score(list(X_dev), y_dev):.3f}")
    return search


if __name__ == "__main__":
    main()

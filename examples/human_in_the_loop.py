"""Label with a person in the loop: the oracle is a function that asks.

Runs the paper's Algorithm 1 with a callable oracle that shows each chosen
example and reads its label from the keyboard, yielding each answer as it is
given. The learner journals every answer (fsynced, in
``human_in_the_loop.skepinet.journal.jsonl``) before anything else, and
checkpoints after every step: stop with Ctrl-C mid-batch (or lose the
machine) and run the same command again to carry on, with no answer lost or
asked twice.

    python examples/human_in_the_loop.py              # you answer
    python examples/human_in_the_loop.py --auto       # answers come from the true labels
"""

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits

from skepinet import ActiveLearner, EpinetClassifier, variance

CLASSES = ["even", "odd"]


def ascii_digit(row):
    shades = " .:-=+*#%@"
    image = row.reshape(8, 8)
    return "\n".join("".join(shades[int(v * 9 / 16)] * 2 for v in line) for line in image)


def keyboard_oracle(rows, indices):
    """Yield each answer as it is typed: the learner journals it before showing the next."""
    for row in np.asarray(rows):
        print(ascii_digit(row))
        answer = ""
        while answer not in ("e", "o"):
            answer = input("even or odd digit? [e/o] ").strip().lower()[:1]
        yield CLASSES[answer == "o"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auto", action="store_true", help="answer from the true labels")
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--checkpoint", default="human_in_the_loop.skepinet")
    args = parser.parse_args(argv)

    digits = load_digits()
    X, truth = digits.data, np.array(CLASSES)[digits.target % 2]
    X_pool, X_test, y_test = X[:1400], X[1400:], truth[1400:]

    def oracle(rows, indices):
        return truth[indices] if args.auto else keyboard_oracle(rows, indices)

    if os.path.exists(args.checkpoint):
        learner = ActiveLearner.load(args.checkpoint)
        print(f"Resuming: {learner.run_state_.n_labelled} labels already given.")
    else:
        learner = ActiveLearner(EpinetClassifier(random_state=0, lr=3e-3), variance, random_state=0)
    history = learner.run(X_pool / 16, lambda rows, idx: oracle(rows * 16, idx), budget=args.budget,
                          candidate_size=50, acquisition_size=5, steps_per_label=4, classes=CLASSES,
                          X_eval=X_test / 16, y_eval=y_test, checkpoint=args.checkpoint)
    print(history.to_frame().to_string(index=False))
    return learner


if __name__ == "__main__":
    main()

"""PriorWeightDecay: weight decay that keeps a fixed prior as the data grow."""

import numpy as np
import pytest
from sklearn.base import clone

from skepinet import DropoutClassifier, EpinetClassifier
from skepinet.callbacks import PriorWeightDecay


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def squared_norm(clf):
    return sum(float((p.detach() ** 2).sum()) for p in clf.module_.parameters() if p.requires_grad)


@pytest.mark.parametrize("cls", [EpinetClassifier, DropoutClassifier])
def test_weight_decay_is_the_precision_over_the_training_rows(cls):
    X, y = data(50)
    clf = cls(callbacks=[("prior", PriorWeightDecay(10.0))], max_epochs=1, random_state=0)
    clf.fit(X, y)
    assert [g["weight_decay"] for g in clf.optimizer_.param_groups] == [pytest.approx(0.2)]
    clf.partial_fit(X[:10], y[:10])
    assert [g["weight_decay"] for g in clf.optimizer_.param_groups] == [pytest.approx(1.0)]


def test_it_changes_training_and_survives_clone():
    X, y = data(40)
    plain = EpinetClassifier(max_epochs=3, random_state=0, weight_decay=0).fit(X, y)
    strong = EpinetClassifier(callbacks=[("prior", PriorWeightDecay(400.0))], max_epochs=3,
                              random_state=0, weight_decay=0).fit(X, y)
    assert squared_norm(strong) < squared_norm(plain)
    assert repr(clone(strong).callbacks[0][1]) == "PriorWeightDecay(prior_precision=400.0)"


def test_bad_precision_is_named():
    X, y = data(10)
    with pytest.raises(ValueError, match="prior_precision must be a non-negative number, got -1"):
        EpinetClassifier(callbacks=[("prior", PriorWeightDecay(-1))], max_epochs=1).fit(X, y)

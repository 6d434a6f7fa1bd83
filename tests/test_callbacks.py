"""PriorWeightDecay: weight decay that keeps a fixed prior as the data grow."""

import numpy as np
import pytest
from sklearn.base import clone

from skepinet import DropoutClassifier, EnsembleClassifier, EpinetClassifier
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
    # The first group is the network; an epinet's learnable part keeps its own (0).
    assert [g["weight_decay"] for g in clf.optimizer_.param_groups][0] == pytest.approx(0.2)
    clf.partial_fit(X[:10], y[:10])
    assert [g["weight_decay"] for g in clf.optimizer_.param_groups][0] == pytest.approx(1.0)


def test_it_changes_training_and_survives_clone():
    X, y = data(40)
    plain = EpinetClassifier(max_epochs=3, random_state=0, weight_decay=0).fit(X, y)
    strong = EpinetClassifier(callbacks=[("prior", PriorWeightDecay(400.0))], max_epochs=3,
                              random_state=0, weight_decay=0).fit(X, y)
    assert squared_norm(strong) < squared_norm(plain)
    assert repr(clone(strong).callbacks[0][1]) == "PriorWeightDecay(prior_precision=400.0)"


def test_bad_precision_is_named():
    X, y = data(10)
    with pytest.raises(ValueError, match="prior_precision must be a finite non-negative number, got -1"):
        EpinetClassifier(callbacks=[("prior", PriorWeightDecay(-1))], max_epochs=1).fit(X, y)


def decays(clf):
    return [g["weight_decay"] for g in clf.optimizer_.param_groups]


def test_ensemble_members_share_the_prior():
    """The loss averages over members, so each member's L2 is divided by their number."""
    X, y = data(50)
    clf = EnsembleClassifier(n_members=5, callbacks=[("prior", PriorWeightDecay(10.0))],
                             max_epochs=1, random_state=0).fit(X, y)
    assert decays(clf) == [pytest.approx(10.0 / 50 / 5)]
    direct = EnsembleClassifier(n_members=5, prior_precision=10.0, max_epochs=1,
                                random_state=0).fit(X, y)
    assert decays(direct) == decays(clf)
    constant = EnsembleClassifier(n_members=4, weight_decay=0.2, max_epochs=1,
                                  random_state=0).fit(X, y)
    assert decays(constant) == [pytest.approx(0.05)]


def test_a_replay_sample_is_decayed_as_the_training_set_it_stands_for():
    X, y = data(50)
    clf = EpinetClassifier(callbacks=[("prior", PriorWeightDecay(10.0))], max_epochs=1,
                           random_state=0).fit(X, y)
    clf.partial_fit(X[:10], y[:10], n_train=500)
    assert clf.n_train_ == 500
    assert decays(clf)[0] == pytest.approx(10.0 / 500)
    clf.partial_fit(X[:10], y[:10])
    assert decays(clf)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        clf.partial_fit(X[:10], y[:10], n_train=0)
    assert clf.n_train_ == 10  # the rejected call changed nothing


def test_the_learnable_epinet_keeps_its_own_weight_decay():
    X, y = data(50)
    clf = EpinetClassifier(prior_precision=10.0, epinet_weight_decay=0.003, max_epochs=1,
                           random_state=0).fit(X, y)
    names = {id(p): n for n, p in clf.module_.named_parameters()}
    by_group = [(g["weight_decay"], {names[id(p)].split(".")[0] for p in g["params"]})
                for g in clf.optimizer_.param_groups]
    assert by_group == [(pytest.approx(0.2), {"base"}), (0.003, {"learnable"})]
    one = EpinetClassifier(weight_decay=0.01, epinet_weight_decay=None, max_epochs=1,
                           random_state=0).fit(X, y)
    assert decays(one) == [0.01]

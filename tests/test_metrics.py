"""Metrics of the benchmarks: marginal and dyadic joint log-loss, labels-to-match."""

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss

from skepinet import EpinetClassifier
from skepinet.datasets import make_testbed_classification
from skepinet.metrics import (
    accuracy,
    dyadic_joint_log_loss,
    dyadic_kl,
    evaluate_enn,
    geometric_mean,
    labels_to_match,
    marginal_kl,
    marginal_log_loss,
    sample_dyads,
)


def random_proba(n, c, seed=0):
    p = np.random.default_rng(seed).dirichlet(np.ones(c), size=n)
    return p


def test_marginal_metrics_agree_with_scikit_learn():
    proba = random_proba(200, 3)
    y = np.random.default_rng(1).integers(0, 3, 200)
    assert accuracy(y, proba) == pytest.approx(accuracy_score(y, proba.argmax(1)))
    assert marginal_log_loss(y, proba) == pytest.approx(log_loss(y, proba, labels=[0, 1, 2]))


def test_bad_shapes_and_labels_are_explained():
    with pytest.raises(ValueError, match="average over axis 0"):
        marginal_log_loss([0], np.ones((2, 1, 2)) / 2)
    with pytest.raises(ValueError, match="class positions 0..1"):
        accuracy(np.array([0, 2]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="sample_dyads"):
        dyadic_joint_log_loss(np.full((1, 3, 2), 0.5), np.zeros((4, 10), int), np.zeros((4, 9), int))


def test_dyads_repeat_two_anchors_and_sample_true_labels():
    true = np.eye(2)[np.arange(50) % 2]  # deterministic labels: row parity
    rows, labels = sample_dyads(true, tau=10, n_dyads=300, random_state=0)
    assert rows.shape == labels.shape == (300, 10)
    assert all(len(set(r)) <= 2 for r in rows)
    assert (np.array([len(set(r)) for r in rows]) == 2).mean() > 0.9
    np.testing.assert_array_equal(labels, rows % 2)
    again = sample_dyads(true, tau=10, n_dyads=300, random_state=0)
    np.testing.assert_array_equal(again[0], rows)


def test_joint_log_loss_of_a_deterministic_model_is_the_sum_of_marginals():
    proba = random_proba(40, 2)
    rows, labels = sample_dyads(random_proba(40, 2, seed=3), tau=10, n_dyads=200, random_state=0)
    expected = -np.log(proba[rows, labels]).sum(1).mean()
    assert dyadic_joint_log_loss(proba[None], rows, labels) == pytest.approx(expected)


def test_joint_log_loss_rewards_knowing_what_you_do_not_know():
    # The truth is a coin flip per input, fixed once drawn; both models predict 0.5 marginally,
    # but only the ENN's index samples (each confident, half each way) predict that repeats agree.
    rows = np.zeros((1, 10), int)
    labels = np.ones((1, 10), int)
    marginal = np.full((1, 1, 2), 0.5)
    enn = np.array([[[0.01, 0.99]], [[0.99, 0.01]]])
    assert dyadic_joint_log_loss(enn, rows, labels) < dyadic_joint_log_loss(marginal, rows, labels)
    assert dyadic_joint_log_loss(marginal, rows, labels) == pytest.approx(10 * math.log(2))


def test_evaluate_enn_on_a_fitted_epinet_with_string_labels():
    X, y, proba = make_testbed_classification(300, random_state=0, return_proba=True)
    names = np.array(["neg", "pos"])[y]
    clf = EpinetClassifier(max_epochs=20, random_state=0).fit(X[:200], names[:200])
    metrics = evaluate_enn(clf, X[200:], names[200:], proba[200:], n_index=20, n_dyads=100)
    assert set(metrics) == {"accuracy", "log_loss", "joint_log_loss"}
    assert 0.5 < metrics["accuracy"] <= 1
    # a batch of tau = 10 points costs at most ~10 marginal log-losses, and more than one
    assert metrics["log_loss"] < metrics["joint_log_loss"] < 10 * metrics["log_loss"] + 1
    assert evaluate_enn(clf, X[200:], names[200:], n_index=20).keys() == {"accuracy", "log_loss"}
    with pytest.raises(ValueError, match="never saw"):
        evaluate_enn(clf, X[200:], np.array(["x"] * 100), n_index=5)


def test_labels_to_match():
    labels = [10, 20, 30, 40]
    assert labels_to_match(labels, [0.5, 0.6, 0.8, 0.9], 0.8) == 30
    assert labels_to_match(labels, [0.9, 0.6, 0.5, 0.4], 0.55, greater_is_better=False) == 30
    assert labels_to_match(labels, [0.5, 0.6, 0.7, 0.7], 0.8) == math.inf
    with pytest.raises(ValueError, match="increasing"):
        labels_to_match([20, 10], [0.1, 0.2], 0.1)


def test_geometric_mean():
    assert geometric_mean([0.25, 1.0]) == pytest.approx(0.5)
    assert geometric_mean([0.5, math.inf]) == math.inf
    with pytest.raises(ValueError, match="positive"):
        geometric_mean([0.0, 1.0])


def test_marginal_kl_is_zero_for_the_truth_and_matches_its_definition():
    rng = np.random.default_rng(0)
    true = rng.dirichlet([1, 1, 1], size=50)
    other = rng.dirichlet([1, 1, 1], size=50)
    assert marginal_kl(true, true) == pytest.approx(0.0, abs=1e-12)
    expected = np.mean([np.sum(p * np.log(p / q)) for p, q in zip(true, other)])
    assert marginal_kl(true, other) == pytest.approx(expected)
    with pytest.raises(ValueError, match="predict the same test rows"):
        marginal_kl(true, other[:10])


def test_dyadic_kl_is_joint_log_loss_minus_the_truths_and_rewards_knowing_the_unknown():
    rng = np.random.default_rng(1)
    true = rng.dirichlet([0.3, 0.3], size=40)
    rows, labels = sample_dyads(true, tau=10, n_dyads=2000, random_state=0)
    truth = dyadic_kl(true[None], true, rows, labels)
    assert abs(truth) < 1e-12
    # Two confident worlds, the truth and its mirror image, have the flat 50/50 marginal,
    # but on joint batches they lose only log 2 where the flat prediction loses ~tau log 2.
    onehot = np.eye(2)[np.arange(40) % 2] * 0.98 + 0.01
    worlds = np.stack([onehot, onehot[:, ::-1]])
    flat = np.full((1, 40, 2), 0.5)
    rows2, labels2 = sample_dyads(onehot, tau=10, n_dyads=500, random_state=0)
    assert dyadic_kl(worlds, onehot, rows2, labels2) == pytest.approx(np.log(2), abs=0.05)
    assert dyadic_kl(flat, onehot, rows2, labels2) > 5
    expected = dyadic_joint_log_loss(flat, rows2, labels2) + np.log(
        onehot[rows2, labels2]).sum(-1).mean()
    assert dyadic_kl(flat, onehot, rows2, labels2) == pytest.approx(expected)

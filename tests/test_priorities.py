"""Tests for skepinet.priorities: formulas, properties, selection helpers."""

import ast
import inspect
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skepinet import priorities
from skepinet.priorities import (
    EPISTEMIC_PRIORITIES,
    MARGINAL_PRIORITIES,
    PRIORITIES,
    bald,
    batchbald_select,
    entropy,
    epig,
    kcenter_greedy,
    least_confidence,
    margin,
    uniform,
    variance,
)

SCORE_FUNCTIONS = [entropy, margin, least_confidence, bald, variance]


def h(*q):
    """Entropy in nats, written out for hand-computed expectations."""
    return -sum(x * math.log(x) for x in q if x > 0)


# -- hand-computed values ------------------------------------------------------------


def test_two_disagreeing_certain_samples():
    # Sample 0 says class 0 for sure, sample 1 says class 1: pbar = [.5, .5].
    proba = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert entropy(proba) == pytest.approx([math.log(2)])
    assert margin(proba) == pytest.approx([0.0])
    assert least_confidence(proba) == pytest.approx([0.5])
    # Each sample has zero entropy, so all of H(pbar) is epistemic.
    assert bald(proba) == pytest.approx([math.log(2)])
    # Per class, values {1, 0}: population variance 0.25; two classes.
    assert variance(proba) == pytest.approx([0.5])


def test_two_samples_partial_disagreement():
    proba = np.array([[[0.8, 0.2]], [[0.4, 0.6]]])
    # pbar = [0.6, 0.4]
    assert entropy(proba) == pytest.approx([h(0.6, 0.4)])
    assert margin(proba) == pytest.approx([-0.2])
    assert least_confidence(proba) == pytest.approx([0.4])
    expected_bald = h(0.6, 0.4) - (h(0.8, 0.2) + h(0.4, 0.6)) / 2
    assert bald(proba) == pytest.approx([expected_bald])
    assert expected_bald == pytest.approx(0.0863046217, abs=1e-9)
    # Class 0: {0.8, 0.4}, mean 0.6, variance 0.04; class 1 the same.
    assert variance(proba) == pytest.approx([0.08])


def test_single_index_sample_three_classes():
    proba = np.array([[[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3]]])
    assert entropy(proba) == pytest.approx([h(0.7, 0.2, 0.1), math.log(3)])
    assert margin(proba) == pytest.approx([-0.5, 0.0])
    assert least_confidence(proba) == pytest.approx([0.3, 2 / 3])
    np.testing.assert_array_equal(bald(proba), [0.0, 0.0])
    np.testing.assert_array_equal(variance(proba), [0.0, 0.0])


def test_rows_are_scored_independently():
    proba = np.array(
        [
            [[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]],
            [[0.0, 1.0], [0.5, 0.5], [0.9, 0.1]],
        ]
    )
    np.testing.assert_allclose(bald(proba), [math.log(2), 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(variance(proba), [0.5, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(margin(proba), [0.0, 0.0, -0.8])


def test_single_class_margin_and_entropy():
    proba = np.ones((3, 2, 1))
    np.testing.assert_array_equal(entropy(proba), [0.0, 0.0])
    np.testing.assert_array_equal(margin(proba), [-1.0, -1.0])
    np.testing.assert_array_equal(least_confidence(proba), [0.0, 0.0])


def test_scores_are_float64_and_accept_float32_and_lists():
    proba32 = np.array([[[0.8, 0.2]], [[0.4, 0.6]]], dtype=np.float32)
    for score in SCORE_FUNCTIONS:
        out = score(proba32)
        assert out.dtype == np.float64 and out.shape == (1,)
        np.testing.assert_allclose(out, score(proba32.tolist()))


def test_empty_pool_gives_empty_scores():
    for score in SCORE_FUNCTIONS:
        assert score(np.empty((3, 0, 2))).shape == (0,)


# -- numerical safety ------------------------------------------------------------------


def test_exact_zeros_and_ones_produce_no_warnings_or_nan():
    proba = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for score in SCORE_FUNCTIONS:
            assert np.isfinite(score(proba)).all()
    np.testing.assert_array_equal(bald(proba)[0], 0.0)
    assert bald(proba)[1] == pytest.approx(math.log(2))


def test_subnormal_probabilities_stay_finite():
    tiny = np.nextafter(0.0, 1.0)
    proba = np.array([[[tiny, 1.0 - tiny]], [[1.0, 0.0]]])
    for score in SCORE_FUNCTIONS:
        assert np.isfinite(score(proba)).all()
    assert bald(proba)[0] == pytest.approx(math.log(2))


def test_bald_clips_round_off_to_zero():
    # float32 rows that only almost agree must not give negative bald.
    rng = np.random.RandomState(0)
    p = rng.dirichlet(np.ones(5), size=50).astype(np.float32)
    proba = np.stack([p, p * (1 + 1e-7)])
    assert (bald(proba) >= 0).all()


# -- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("score", SCORE_FUNCTIONS + [uniform])
@pytest.mark.parametrize(
    "bad, fragment",
    [
        (np.full((4, 2), 0.5), "3-D"),
        (np.full((2, 4, 2, 1), 0.5), "3-D"),
        (np.empty((0, 4, 2)), "at least one index sample"),
        (np.empty((3, 4, 0)), "at least one index sample"),
        (np.full((2, 3, 2), np.nan), "NaN"),
        (np.full((2, 3, 2), -0.5), "negative"),
        (np.full((2, 3, 2), "a"), "real numbers"),
    ],
)
def test_invalid_proba_raises(score, bad, fragment):
    with pytest.raises(ValueError, match="proba") as info:
        score(bad)
    assert fragment in str(info.value)


def test_shape_error_names_expected_shape():
    with pytest.raises(ValueError, match=r"\(n_index, n_samples, n_classes\)"):
        bald(np.full((4, 2), 0.5))


# -- registry ------------------------------------------------------------------------


def test_registry():
    names = {"uniform", "entropy", "margin", "least_confidence", "bald", "variance"}
    assert set(PRIORITIES) == names
    assert EPISTEMIC_PRIORITIES == {"bald", "variance"}
    assert MARGINAL_PRIORITIES == {"entropy", "margin", "least_confidence"}
    assert not EPISTEMIC_PRIORITIES & MARGINAL_PRIORITIES
    assert PRIORITIES["bald"] is bald


def test_module_is_pure_numpy():
    tree = ast.parse(inspect.getsource(priorities))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert "torch" not in imported
    assert set(priorities.__all__) <= set(dir(priorities))


def test_uniform_is_seeded():
    proba = np.full((2, 50, 3), 1 / 3)
    u = uniform(proba, random_state=0)
    assert u.shape == (50,) and ((u >= 0) & (u < 1)).all()
    np.testing.assert_array_equal(u, uniform(proba, random_state=0))
    assert not np.array_equal(u, uniform(proba, random_state=1))


# -- properties -----------------------------------------------------------------------


@st.composite
def joint_probas(draw, max_index=5, max_samples=6, max_classes=4):
    """Joint probability arrays, including exact zeros and one-hot rows."""
    shape = (
        draw(st.integers(1, max_index)),
        draw(st.integers(1, max_samples)),
        draw(st.integers(1, max_classes)),
    )
    weights = draw(
        hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) | st.floats(0, 1))
    )
    weights[weights.sum(axis=-1) == 0] = 1.0
    return weights / weights.sum(axis=-1, keepdims=True)


@settings(max_examples=60, deadline=None)
@given(joint_probas())
def test_property_ranges(proba):
    n_index, _, n_classes = proba.shape
    # Subnormal probabilities may underflow to 0 (harmless); nothing may
    # divide by zero, overflow or turn invalid.
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        scores = {name: PRIORITIES[name](proba) for name in PRIORITIES if name != "uniform"}
    tol = 1e-12
    for values in scores.values():
        assert np.isfinite(values).all()
    assert (scores["bald"] >= 0).all()
    assert (scores["variance"] >= 0).all()
    # I(y; z) <= H(y) and I(y; z) <= H(z) = log(n_index).
    assert (scores["bald"] <= scores["entropy"] + tol).all()
    assert (scores["bald"] <= math.log(n_index) + tol).all()
    assert (scores["entropy"] <= math.log(n_classes) + tol).all()
    assert ((scores["margin"] >= -1 - tol) & (scores["margin"] <= tol)).all()
    assert (scores["least_confidence"] <= 1 - 1 / n_classes + tol).all()
    assert (scores["least_confidence"] >= -tol).all()
    # Variance of values in [0, 1] is at most 1/4 per class.
    assert (scores["variance"] <= n_classes / 4 + tol).all()


@settings(max_examples=40, deadline=None)
@given(joint_probas(max_index=1), st.integers(1, 7))
def test_property_agreeing_samples_have_no_epistemic_score(single, n_index):
    proba = np.repeat(single, n_index, axis=0)
    np.testing.assert_array_equal(bald(proba), 0.0)
    np.testing.assert_array_equal(variance(proba), 0.0)


@settings(max_examples=40, deadline=None)
@given(joint_probas(), st.randoms(use_true_random=False))
def test_property_permutation_equivariance_and_invariance(proba, random):
    rows = list(range(proba.shape[1]))
    index = list(range(proba.shape[0]))
    random.shuffle(rows)
    random.shuffle(index)
    for score in SCORE_FUNCTIONS:
        base = score(proba)
        np.testing.assert_allclose(score(proba[:, rows]), base[rows], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(score(proba[index]), base, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_classes", [1, 2, 3, 10])
def test_entropy_is_maximal_at_uniform(n_classes):
    rng = np.random.RandomState(n_classes)
    others = rng.dirichlet(np.ones(n_classes), size=200)[None]
    top = entropy(np.full((1, 1, n_classes), 1 / n_classes))[0]
    assert top == pytest.approx(math.log(n_classes))
    assert (entropy(others) <= top + 1e-12).all()


# -- BatchBALD ------------------------------------------------------------------------


def _random_proba(seed, n_index=8, n_samples=12, n_classes=2, scale=2.0):
    rng = np.random.RandomState(seed)
    logits = scale * rng.randn(n_index, n_samples, n_classes)
    proba = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return proba / proba.sum(axis=-1, keepdims=True)


def _joint_mutual_information(proba, rows):
    """Brute force: H(y_rows) - sum_j E_a H(y_j | a), enumerating configurations."""
    n_classes = proba.shape[2]
    joint_entropy = 0.0
    for config in itertools.product(range(n_classes), repeat=len(rows)):
        p = np.mean(np.prod([proba[:, i, c] for i, c in zip(rows, config)], axis=0))
        joint_entropy -= p * math.log(p) if p > 0 else 0.0
    conditional = sum(np.mean([h(*proba[a, i]) for a in range(proba.shape[0])]) for i in rows)
    return joint_entropy - conditional


def test_batchbald_first_pick_is_bald_argmax():
    proba = _random_proba(0)
    indices, gains = batchbald_select(proba, 3, random_state=0)
    assert indices[0] == np.argmax(bald(proba))
    assert gains[0] == pytest.approx(bald(proba).max())


@pytest.mark.parametrize("n_classes", [2, 3])
def test_batchbald_gains_sum_to_joint_mutual_information(n_classes):
    proba = _random_proba(1, n_index=6, n_samples=7, n_classes=n_classes)
    indices, gains = batchbald_select(proba, 3, random_state=0)
    assert len(set(indices.tolist())) == 3
    assert gains.sum() == pytest.approx(_joint_mutual_information(proba, indices), rel=1e-9)
    # The greedy choice at step 2 beats every other pair containing the first pick.
    best_pair = max(
        _joint_mutual_information(proba, [indices[0], j])
        for j in range(proba.shape[1])
        if j != indices[0]
    )
    assert gains[:2].sum() == pytest.approx(best_pair, rel=1e-9)


def test_batchbald_gains_are_non_increasing_when_exact():
    # Mutual information is submodular in the batch, so greedy gains shrink.
    proba = _random_proba(2, n_index=20, n_samples=40)
    _, gains = batchbald_select(proba, 6, random_state=0)
    assert (np.diff(gains) <= 1e-12).all()
    assert (gains >= 0).all()


def test_batchbald_avoids_duplicates_that_bald_takes():
    distinct = _random_proba(3, n_index=30, n_samples=10)
    proba = np.repeat(distinct, 4, axis=1)  # rows 4k..4k+3 are copies
    top_bald = np.argsort(-bald(proba), kind="stable")[:4]
    assert len(set(top_bald // 4)) == 1
    indices, _ = batchbald_select(proba, 4, random_state=0)
    assert len(set(indices // 4)) == 4


def test_batchbald_sampled_configurations_match_exact():
    proba = _random_proba(4, n_index=10, n_samples=15)
    chosen = [0, 3, 5, 7]
    rng = np.random.RandomState(0)
    exact = priorities._conditional_entropy(proba, *priorities._exact_configs(proba, chosen), 4)
    sampled = priorities._conditional_entropy(
        proba, *priorities._sampled_configs(proba, chosen, 20000, rng), 4
    )
    np.testing.assert_allclose(sampled, exact, atol=0.01)


def test_batchbald_sampling_mode_is_seeded_and_valid():
    proba = _random_proba(5, n_index=10, n_samples=30, n_classes=3).astype(np.float32)
    first = batchbald_select(proba, 6, max_configs=9, random_state=0)
    again = batchbald_select(proba, 6, max_configs=9, random_state=0)
    np.testing.assert_array_equal(first[0], again[0])
    assert len(set(first[0].tolist())) == 6
    assert (first[1] >= 0).all() and np.isfinite(first[1]).all()


def test_batchbald_survives_underflowing_products():
    proba = np.zeros((4, 20, 2))
    proba[..., 0] = 1e-300
    proba[..., 1] = 1.0
    proba[:2, 10:] = proba[:2, 10:, ::-1]
    # Underflow to 0 is expected and harmless; 0/0 or log(0) would not be.
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        indices, gains = batchbald_select(proba, 5, random_state=0)
    assert len(set(indices.tolist())) == 5
    assert np.isfinite(gains).all()


def test_batchbald_validation():
    proba = _random_proba(6)
    with pytest.raises(ValueError, match="n_instances"):
        batchbald_select(proba, proba.shape[1] + 1)
    with pytest.raises(ValueError, match="n_instances"):
        batchbald_select(proba, 0)
    with pytest.raises(TypeError, match="n_instances"):
        batchbald_select(proba, 2.0)
    with pytest.raises(ValueError, match="max_configs"):
        batchbald_select(proba, 2, max_configs=0)
    with pytest.raises(ValueError, match="3-D"):
        batchbald_select(proba[0], 2)


# -- k-center greedy ------------------------------------------------------------------


def test_kcenter_hand_example():
    features = np.array([[0.0], [1.0], [2.0], [10.0]])
    indices, distances = kcenter_greedy(features, 3, initial=np.array([[0.0]]))
    # Farthest from 0 is 10; then 2 (distance 2 to 0) beats 1; then 1.
    np.testing.assert_array_equal(indices, [3, 2, 1])
    np.testing.assert_allclose(distances, [10.0, 2.0, 1.0])


def test_kcenter_without_initial_is_random_first_then_farthest():
    features = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0]])
    firsts = {int(kcenter_greedy(features, 1, random_state=seed)[0][0]) for seed in range(20)}
    assert len(firsts) > 1
    indices, distances = kcenter_greedy(features, 2, random_state=0)
    assert np.isinf(distances[0])
    # The second pick sits in the other cluster.
    assert (features[indices[0], 0] == 0) != (features[indices[1], 0] == 0)
    np.testing.assert_array_equal(indices, kcenter_greedy(features, 2, random_state=0)[0])


def test_kcenter_covers_clusters_away_from_initial():
    rng = np.random.RandomState(0)
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], dtype=float)
    labels = np.repeat(np.arange(4), 25)
    features = centres[labels] + rng.randn(100, 2)
    initial = centres[:2] + 0.1
    indices, _ = kcenter_greedy(features, 2, initial=initial, random_state=0)
    assert set(labels[indices]) == {2, 3}
    indices, _ = kcenter_greedy(features, 4, random_state=0)
    assert set(labels[indices]) == {0, 1, 2, 3}


def test_kcenter_duplicates_and_exhaustion():
    features = np.zeros((5, 3))
    indices, distances = kcenter_greedy(features, 5, random_state=0)
    assert sorted(indices.tolist()) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(distances[1:], 0.0)


def test_kcenter_accepts_empty_initial():
    features = np.arange(6.0).reshape(3, 2)
    indices, distances = kcenter_greedy(features, 1, initial=np.empty((0, 2)), random_state=0)
    assert np.isinf(distances[0])


def test_kcenter_validation():
    features = np.zeros((4, 3))
    with pytest.raises(ValueError, match="initial has 2 features"):
        kcenter_greedy(features, 1, initial=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="features must be a 2-D"):
        kcenter_greedy(np.zeros(4), 1)
    with pytest.raises(ValueError, match="n_instances"):
        kcenter_greedy(features, 5)
    with pytest.raises(ValueError, match="NaN"):
        kcenter_greedy(np.full((4, 3), np.nan), 1)


# -- EPIG -------------------------------------------------------------------------------


def _epig_by_definition(proba, target):
    """mean_j KL(p(y, y*) || p(y) p(y*)), one pair at a time."""
    scores = []
    for i in range(proba.shape[1]):
        kls = []
        for j in range(target.shape[1]):
            joint = np.einsum("ac,ad->cd", proba[:, i], target[:, j]) / proba.shape[0]
            product = np.outer(proba[:, i].mean(0), target[:, j].mean(0))
            kls.append(sum(joint[c, d] * math.log(joint[c, d] / product[c, d])
                           for c in range(joint.shape[0]) for d in range(joint.shape[1])
                           if joint[c, d] > 0))
        scores.append(np.mean(kls))
    return np.array(scores)


def test_epig_is_the_mean_information_about_the_targets():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([0.5, 0.5, 0.5], size=(20, 7))
    proba[:, 0] = [1.0, 0.0, 0.0]  # a certain row: 0 log 0 terms
    target = rng.dirichlet([0.5, 0.5, 0.5], size=(20, 5))
    np.testing.assert_allclose(epig(proba, target), _epig_by_definition(proba, target),
                               rtol=1e-10, atol=1e-15)
    assert epig(proba, target)[0] == 0.0


def test_epig_is_exactly_zero_without_shared_disagreement():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([1, 1], size=(30, 4))
    target = rng.dirichlet([1, 1], size=(30, 3))
    agreeing = np.repeat(proba[:1], 30, axis=0)
    assert (epig(agreeing, target) == 0).all()
    assert (epig(proba, np.repeat(target[:1], 30, axis=0)) == 0).all()


def test_epig_ignores_disagreement_the_targets_do_not_share():
    # Rows 0 and 1 disagree across index samples equally (same variance), but only
    # row 0's disagreement is the targets': its label says something about theirs.
    z = np.random.default_rng(2).normal(size=(400, 2))
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    two_class = lambda p: np.stack([1 - p, p], axis=-1)  # noqa: E731
    proba = two_class(np.stack([sig(z[:, 0]), sig(z[:, 1])], axis=1))
    target = two_class(np.stack([sig(z[:, 0] + 0.3), sig(z[:, 0] - 0.3)], axis=1))
    v = variance(proba)
    assert v[0] == pytest.approx(v[1], rel=0.2)
    scores = epig(proba, target)
    assert scores[0] > 10 * scores[1]


def test_epig_needs_matching_index_samples_and_classes():
    proba = np.full((4, 3, 2), 0.5)
    with pytest.raises(ValueError, match="proba_target must have proba's index samples"):
        epig(proba, np.full((5, 3, 2), 0.5))
    with pytest.raises(ValueError, match="proba_target must have proba's index samples"):
        epig(proba, np.full((4, 3, 3), 1 / 3))
    with pytest.raises(ValueError, match="no target inputs"):
        epig(proba, np.empty((4, 0, 2)))
    with pytest.raises(ValueError, match="proba_target must hold probabilities"):
        epig(proba, np.full((4, 3, 2), -1.0))


def test_epig_in_blocks_equals_one_block(monkeypatch):
    rng = np.random.default_rng(3)
    proba = rng.dirichlet([1, 1, 1], size=(10, 50))
    target = rng.dirichlet([1, 1, 1], size=(10, 8))
    whole = epig(proba, target)
    monkeypatch.setattr(priorities, "_BLOCK_ELEMENTS", 8 * 9 * 3)  # 3 rows a block
    # The same sums, but a block's matrix products may add in another order than the
    # whole's (it failed bit for bit by 1 ulp with numpy 2.4.6), so equal to rounding.
    np.testing.assert_allclose(epig(proba, target), whole, rtol=1e-13, atol=0)

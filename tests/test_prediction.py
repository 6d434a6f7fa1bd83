"""Tests for skepinet.prediction: joint predictions, batch by batch, in bounded memory."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skepinet import BaselineClassifier, DropoutClassifier, EnsembleClassifier, EpinetClassifier

ENNS = [EpinetClassifier, DropoutClassifier, EnsembleClassifier]
ALL = [BaselineClassifier, *ENNS]
FAST = dict(max_epochs=15, random_state=0)


# -- predict_proba_joint ----------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
def test_joint_prediction_shape_normalisation_and_determinism(cls, toy_fitted, toy_data):
    X, _ = toy_data
    clf = toy_fitted[cls]
    joint = clf.predict_proba_joint(X, n_index=7)
    assert joint.shape == (7, len(X), 2)
    assert np.issubdtype(joint.dtype, np.floating)
    np.testing.assert_allclose(joint.sum(axis=-1), 1.0, atol=1e-6)
    assert np.all(joint >= 0)
    np.testing.assert_array_equal(joint, clf.predict_proba_joint(X, n_index=7))


@pytest.mark.parametrize("cls", ENNS)
def test_enn_joint_prediction_varies_along_the_index(cls, toy_fitted, toy_data):
    joint = toy_fitted[cls].predict_proba_joint(toy_data[0], n_index=20)
    assert joint.std(axis=0).mean() > 1e-3


def test_baseline_joint_prediction_is_constant_along_the_index(toy_fitted, toy_data):
    clf = toy_fitted[BaselineClassifier]
    joint = clf.predict_proba_joint(toy_data[0], n_index=5)
    np.testing.assert_array_equal(joint, np.broadcast_to(joint[:1], joint.shape))
    np.testing.assert_allclose(joint[0], clf.predict_proba(toy_data[0]), atol=1e-7)


@pytest.mark.parametrize("cls", ALL)
def test_same_index_samples_apply_to_every_row_and_batch(cls, toy_fitted, toy_data):
    X, _ = toy_data
    clf = clone(toy_fitted[cls]).set_params(iterator_valid__batch_size=7)
    clf.fit(X, toy_data[1])
    small_batches = clf.predict_proba_joint(X, n_index=9)
    clf.set_params(iterator_valid__batch_size=-1)
    one_batch = clf.predict_proba_joint(X, n_index=9)
    np.testing.assert_allclose(small_batches, one_batch, atol=1e-6)
    # A row's prediction does not depend on which other rows are scored with it.
    np.testing.assert_allclose(clf.predict_proba_joint(X[::-1], n_index=9)[:, ::-1], one_batch, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba_joint(X[5:6], n_index=9), one_batch[:, 5:6], atol=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_predict_proba_is_the_mean_of_the_joint_prediction(cls, toy_fitted, toy_data):
    X, _ = toy_data
    clf = toy_fitted[cls]
    n_index = getattr(clf, "n_index_predict", 1) if cls is not BaselineClassifier else 1
    expected = clf.predict_proba_joint(X, n_index=n_index).mean(axis=0)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])


@pytest.fixture
def small_index_blocks(monkeypatch):
    """Index blocks of 16 samples and passes of 64 index-row pairs: the huge-n_index path, small."""
    import skepinet.prediction as prediction

    monkeypatch.setattr(prediction, "_INDEX_BLOCK", 16)
    monkeypatch.setattr(prediction, "_MIN_PAIRS", 64)
    monkeypatch.setattr(prediction, "DEFAULT_N_INDEX", 1)


@pytest.mark.parametrize("cls", ALL)
def test_a_huge_n_index_is_split_into_blocks_consistently(cls, toy_fitted, toy_data,
                                                          small_index_blocks):
    X, _ = toy_data
    clf = clone(toy_fitted[cls]).set_params(iterator_valid__batch_size=8).fit(*toy_data)
    joint = clf.predict_proba_joint(X[:20], n_index=100)  # 7 blocks, several passes per batch
    assert joint.shape == (100, 20, 2)
    np.testing.assert_allclose(joint.sum(axis=-1), 1.0, atol=1e-6)
    # The same samples whatever the rows scored with them and the batch size.
    np.testing.assert_allclose(clf.predict_proba_joint(X[3:4], n_index=100), joint[:, 3:4], atol=1e-6)
    clf.set_params(iterator_valid__batch_size=-1)
    np.testing.assert_allclose(clf.predict_proba_joint(X[:20], n_index=100), joint, atol=1e-6)
    if cls is not BaselineClassifier:
        clf.set_params(n_index_predict=100)
        np.testing.assert_allclose(clf.predict_proba(X[:20]), joint.mean(axis=0), atol=1e-6)
        # Blocks are different draws, not one block repeated.
        assert not np.allclose(joint[:16], joint[16:32])


def test_n_index_in_the_millions_runs_in_bounded_memory(toy_fitted, toy_data):
    joint = toy_fitted[EpinetClassifier].predict_proba_joint(toy_data[0][:1], n_index=10**7)
    assert joint.shape == (10**7, 1, 2)
    assert np.isfinite(joint).all()
    # Ten million draws average to the marginal prediction.
    marginal = toy_fitted[EpinetClassifier].predict_proba(toy_data[0][:1])
    np.testing.assert_allclose(joint.mean(axis=0, dtype=np.float64), marginal, atol=0.01)


def test_a_joint_prediction_too_big_for_memory_is_refused(toy_fitted, toy_data, monkeypatch):
    import skepinet.batches as batches

    monkeypatch.setattr(batches, "available_memory", lambda: 2**30)
    with pytest.raises(MemoryError, match=r"\(10000000, 120, 2\) needs 8.9 GiB.*1.0 GiB.*n_index"):
        toy_fitted[EpinetClassifier].predict_proba_joint(toy_data[0], n_index=10**7)


class ForwardSpy:
    """Forward hook recording how a submodule is called."""

    def __init__(self, module):
        self.rows, self.inference_mode = [], []
        module.register_forward_hook(self)

    def __call__(self, module, args, output):
        self.rows.append(args[0].shape[0])
        self.inference_mode.append(torch.is_inference_mode_enabled())


def test_epinet_runs_its_backbone_once_per_batch_under_inference_mode(toy_data):
    X, y = toy_data
    clf = EpinetClassifier(**FAST, iterator_valid__batch_size=32).fit(X, y)
    backbone, epinet = ForwardSpy(clf.module_.base), ForwardSpy(clf.module_.learnable)
    clf.predict_proba_joint(X, n_index=50)
    n_batches = -(-len(X) // 32)
    assert len(backbone.rows) == n_batches  # not n_index * n_batches
    assert len(epinet.rows) == n_batches  # all index samples in one call
    assert max(backbone.rows) <= 32  # memory bounded by the batch, not len(X)
    assert all(backbone.inference_mode)


def test_dropout_and_ensemble_batch_their_index_samples(toy_data):
    X, y = toy_data
    for cls in (DropoutClassifier, EnsembleClassifier):
        clf = cls(**FAST, iterator_valid__batch_size=40).fit(X, y)
        spy = ForwardSpy(clf.module_)
        clf.predict_proba_joint(X, n_index=30)
        assert spy.rows == [40, 40, 40] and all(spy.inference_mode)


@pytest.mark.parametrize("cls", ALL)
def test_embed_returns_backbone_features(cls, toy_fitted, toy_data):
    features = toy_fitted[cls].embed(toy_data[0])
    assert features.shape[0] == len(toy_data[0]) and features.ndim == 2


def test_cpu_prediction_batches_hold_at_least_1024_rows_of_features_unless_set():
    from skepinet.prediction import CPU_PREDICTION_ROWS

    assert CPU_PREDICTION_ROWS == 1024
    cpu = EpinetClassifier(batch_size=32, device="cpu")
    assert cpu._predict_batch_size(10_000) == 1024
    assert cpu.set_params(batch_size=4096)._predict_batch_size(10_000) == 4096
    assert cpu.set_params(batch_size=-1)._predict_batch_size(10_000) == 10_000
    assert cpu.set_params(iterator_valid__batch_size=16)._predict_batch_size(10_000) == 16
    # Texts go through the encoder in prediction batches: batch_size is kept.
    text = EpinetClassifier(backbone="bert", batch_size=32, device="cpu")
    assert text._predict_batch_size(10_000) == 32
    # A bad batch size is still refused, not hidden by the minimum.
    with pytest.raises(ValueError, match="prediction batch size.*got 0"):
        EpinetClassifier(batch_size=0, device="cpu")._predict_batch_size(10)


@pytest.mark.parametrize("n_classes", [1, 2, 3, 16, 17])
def test_class_probabilities_are_the_softmax(n_classes):
    from skepinet.prediction import class_probabilities

    logits = torch.randn(7, 50, n_classes, generator=torch.Generator().manual_seed(0)) * 30
    proba = class_probabilities(logits.double())
    assert proba.dtype == torch.float32 and proba.shape == logits.shape
    torch.testing.assert_close(proba, torch.softmax(logits, dim=-1), atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(proba.sum(dim=-1), torch.ones(7, 50))


def test_two_class_probabilities_are_the_logistic_of_each_gap_to_the_bit():
    # Published records were computed with sigmoid(l - l.flip(-1)); a faster form must not
    # move them.
    from skepinet.prediction import class_probabilities

    logits = torch.randn(9, 333, 2, generator=torch.Generator().manual_seed(1)) * 8
    assert torch.equal(class_probabilities(logits), torch.sigmoid(logits - logits.flip(-1)))
    strided = logits.transpose(0, 1).contiguous().transpose(0, 1)
    assert torch.equal(class_probabilities(strided), class_probabilities(logits))


def test_scoring_a_chunk_runs_one_pass_per_1024_rows_on_the_cpu(toy_data):
    X = np.repeat(toy_data[0], 20, axis=0)  # 2400 rows
    clf = EpinetClassifier(**FAST).fit(*toy_data)
    calls = []
    clf.module_.base.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    clf.predict_proba_joint(X, n_index=10)
    assert calls == [1024, 1024, 352]

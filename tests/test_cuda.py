"""On a GPU: the estimators, strategies, learner, checkpoints and accelerate run on CUDA.

Skipped without one. On a lent machine: ``python -m pytest tests/test_cuda.py -q``.
"""

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

from skepinet import (  # noqa: E402
    ActiveLearner,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
    bald,
    load_estimator,
    save_estimator,
    variance,
)
from skepinet.datasets import make_testbed_classification  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return make_testbed_classification(500, n_features=10, random_state=0)


@pytest.mark.parametrize("cls", [EpinetClassifier, DropoutClassifier, EnsembleClassifier])
def test_auto_trains_on_the_gpu_and_predicts_like_the_cpu(cls, data):
    X, y = data
    gpu = cls(max_epochs=5, random_state=0, mixed_precision=False).fit(X, y)
    assert next(gpu.module_.parameters()).device.type == "cuda"
    joint = gpu.predict_proba_joint(X, n_index=20)
    assert joint.shape == (20, 500, 2) and np.isfinite(joint).all()
    # The same weights on the CPU give the same joint prediction (float32, different kernels).
    cpu = cls(max_epochs=5, random_state=0, device="cpu").fit(X[:10], y[:10])
    cpu.module_.load_state_dict({k: v.cpu() for k, v in gpu.module_.state_dict().items()})
    cpu.index_seed_ = gpu.index_seed_
    np.testing.assert_allclose(cpu.predict_proba_joint(X, n_index=20), joint, atol=1e-4)


def test_a_huge_n_index_is_split_on_the_gpu(data):
    X, y = data
    clf = EpinetClassifier(max_epochs=2, random_state=0).fit(X, y)
    joint = clf.predict_proba_joint(X[:2], n_index=2_000_000)
    assert joint.shape == (2_000_000, 2, 2) and np.isfinite(joint).all()


def test_strategies_and_the_learner_on_the_gpu(data, tmp_path):
    X, y = data
    learner = ActiveLearner(EpinetClassifier(random_state=0), variance, random_state=0)
    learner.run(X, y, 60, candidate_size=100, acquisition_size=20, classes=[0, 1],
                checkpoint=tmp_path / "run.skepinet", progress=False)
    assert learner.run_state_.n_labelled == 60
    idx, scores = bald(learner, X, 5, n_index=50, random_state=0)
    assert len(set(idx.tolist())) == 5 and np.all(scores >= 0)
    loaded = ActiveLearner.load(tmp_path / "run.skepinet")
    np.testing.assert_allclose(loaded.predict_proba_joint(X, n_index=8),
                               learner.predict_proba_joint(X, n_index=8), atol=1e-6)


def test_a_gpu_checkpoint_loads_on_the_gpu_and_keeps_its_predictions(data, tmp_path):
    X, y = data
    clf = EpinetClassifier(max_epochs=3, random_state=0).fit(X, y)
    save_estimator(clf, tmp_path / "m.skepinet")
    loaded = load_estimator(tmp_path / "m.skepinet")
    np.testing.assert_array_equal(loaded.predict_proba_joint(X, n_index=8),
                                  clf.predict_proba_joint(X, n_index=8))


def test_bf16_fine_tuning_of_a_text_encoder(tiny_bert, make_sentences):
    texts, y = make_sentences(64)
    clf = EpinetClassifier(backbone="bert", pretrained=tiny_bert, max_epochs=5, lr=3e-3,
                           random_state=0).fit(texts, y)
    assert isinstance(clf._autocast(), torch.autocast) and clf.device == "cuda"
    assert np.isfinite(clf.predict_proba_joint(texts, n_index=4)).all()


def test_accelerate_on_one_gpu(data):
    accelerate = pytest.importorskip("accelerate")
    from skepinet.accelerated import AcceleratedEpinetClassifier

    X, y = data
    clf = AcceleratedEpinetClassifier(accelerator=accelerate.Accelerator(), max_epochs=5,
                                      random_state=0).fit(X, y)
    assert clf.device.type == "cuda"
    assert next(clf.module_.parameters()).device.type == "cuda"
    assert clf.score(X, y) > 0.6
    clf.partial_fit(X[:100], y[:100])
    assert np.isfinite(clf.predict_proba_joint(X, n_index=10)).all()

"""Training through accelerate (single process on the CPU here; several GPUs with `accelerate launch`)."""

import numpy as np
import pytest

accelerate = pytest.importorskip("accelerate")

from skepinet import (  # noqa: E402
    ActiveLearner,
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
    variance,
)
from skepinet.accelerated import (  # noqa: E402
    AcceleratedBaselineClassifier,
    AcceleratedDropoutClassifier,
    AcceleratedEnsembleClassifier,
    AcceleratedEpinetClassifier,
)
from skepinet.datasets import make_testbed_classification  # noqa: E402

PAIRS = [(AcceleratedEpinetClassifier, EpinetClassifier),
         (AcceleratedDropoutClassifier, DropoutClassifier),
         (AcceleratedEnsembleClassifier, EnsembleClassifier),
         (AcceleratedBaselineClassifier, BaselineClassifier)]


@pytest.fixture(scope="module")
def data():
    return make_testbed_classification(300, n_features=4, random_state=1)


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


@pytest.mark.parametrize("accelerated, plain", PAIRS, ids=lambda c: c.__name__)
def test_one_cpu_process_trains_exactly_as_the_plain_estimator(accelerated, plain, data,
                                                               accelerator, capsys):
    X, y = data
    fast = accelerated(accelerator=accelerator, hidden_sizes=(16,), max_epochs=4,
                       random_state=0).fit(X, y)
    slow = plain(hidden_sizes=(16,), max_epochs=4, random_state=0).fit(X, y)
    np.testing.assert_allclose(fast.predict_proba_joint(X, n_index=5),
                               slow.predict_proba_joint(X, n_index=5), atol=1e-6)
    # Trained further after being unwrapped for prediction: wrapped again, still alike.
    fast.partial_fit(X[:60], y[:60])
    slow.partial_fit(X[:60], y[:60])
    np.testing.assert_allclose(fast.predict_proba_joint(X, n_index=5),
                               slow.predict_proba_joint(X, n_index=5), atol=1e-6)
    assert fast.get_params()["device"] is None and "accelerator" in fast.get_params()
    assert capsys.readouterr().out == ""  # verbose=0 is silent, as for the plain estimator


def test_an_accelerated_epinet_drives_the_learner(data, accelerator):
    X, y = data
    learner = ActiveLearner(AcceleratedEpinetClassifier(accelerator=accelerator,
                                                        max_epochs=2, random_state=0),
                            variance, random_state=0)
    learner.run(X, y, 30, candidate_size=30, acquisition_size=10, classes=[0, 1],
                progress=False)
    assert learner.run_state_.n_labelled == 30
    assert learner.predict_proba_joint(X, n_index=4).shape == (4, 300, 2)


def test_fine_tuning_a_text_encoder_through_accelerate(tiny_bert, make_sentences, accelerator):
    texts, y = make_sentences(32)
    clf = AcceleratedEpinetClassifier(accelerator=accelerator, backbone="bert",
                                      pretrained=tiny_bert, max_epochs=3, lr=3e-3,
                                      random_state=0).fit(texts, y)
    plain = EpinetClassifier(backbone="bert", pretrained=tiny_bert, max_epochs=3, lr=3e-3,
                             random_state=0).fit(texts, y)
    # Alike, not identical: the first epoch's loss already differs in the 3rd decimal
    # (the MLP path above is exact; where the text path's draws diverge is not pinned down).
    losses = [[epoch["train_loss"] for epoch in m.history_] for m in (clf, plain)]
    np.testing.assert_allclose(losses[0], losses[1], atol=0.02)
    np.testing.assert_allclose(clf.predict_proba_joint(texts, n_index=3),
                               plain.predict_proba_joint(texts, n_index=3), atol=0.05)


def test_a_device_beside_a_placing_accelerator_is_refused(data, accelerator):
    with pytest.raises(ValueError, match=r"device='cpu' with an accelerator that places "
                                         r"devices itself: leave device=None"):
        AcceleratedEpinetClassifier(accelerator=accelerator, device="cpu").fit(*data)

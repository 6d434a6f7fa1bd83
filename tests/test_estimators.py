"""Behaviour of the skepinet estimators: joint predictions, training, the sklearn contract."""

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skepinet import (
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
)

ENNS = [EpinetClassifier, DropoutClassifier, EnsembleClassifier]
ALL = [BaselineClassifier, *ENNS]
FAST = dict(max_epochs=15, random_state=0)


@pytest.fixture(scope="module")
def data(toy_data):
    return toy_data


@pytest.fixture(scope="module")
def fitted(toy_fitted):
    return toy_fitted


# -- training ----------------------------------------------------------------------


def test_epinet_prior_is_never_trained_nor_in_the_optimizer(data):
    X, y = data
    clf = EpinetClassifier(max_epochs=1, random_state=0).fit(X, y)
    prior_before = [p.detach().clone() for p in clf.module_.prior.parameters()]
    learnable_before = [p.detach().clone() for p in clf.module_.learnable.parameters()]
    optimised = {id(p) for group in clf.optimizer_.param_groups for p in group["params"]}
    assert not optimised & {id(p) for p in clf.module_.prior.parameters()}
    assert {id(p) for p in clf.module_.learnable.parameters()} <= optimised
    learnable = {id(p) for p in clf.module_.learnable.parameters()}
    for group in clf.optimizer_.param_groups:
        own = {id(p) for p in group["params"]} <= learnable
        assert group["weight_decay"] == (clf.epinet_weight_decay if own else clf.weight_decay)

    clf.partial_fit(X, y)
    for before, after in zip(prior_before, clf.module_.prior.parameters()):
        torch.testing.assert_close(before, after, rtol=0, atol=0)
    assert any(
        not torch.equal(b, a) for b, a in zip(learnable_before, clf.module_.learnable.parameters())
    )


def test_training_loss_averages_over_index_samples(data):
    X, y = data
    clf = EpinetClassifier(max_epochs=1, random_state=0).fit(X, y)
    logits = torch.randn(3, 5, 2)
    target = torch.tensor([0, 1, 1, 0, 1])
    expected = np.mean([torch.nn.functional.cross_entropy(l, target).item() for l in logits])
    assert clf.get_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_fits_ten_labelled_rows_with_default_settings(cls):
    X, y = make_blobs(n_samples=10, centers=[[-3, -3], [3, 3]], random_state=0)
    clf = cls(random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0


def test_epinet_is_uncertain_far_from_the_training_data():
    X, y = make_blobs(n_samples=40, centers=[[-1, 0], [1, 0]], cluster_std=0.3, random_state=0)
    clf = EpinetClassifier(random_state=0, max_epochs=200).fit(X, y)
    near = clf.predict_proba_joint(X, n_index=100).var(axis=0).sum(-1).mean()
    far_points = np.array([[0, 8], [0, -8], [8, 8], [-8, -8]])
    far = clf.predict_proba_joint(far_points, n_index=100).var(axis=0).sum(-1).mean()
    assert far > 3 * near


@pytest.mark.parametrize("cls", ALL)
def test_random_state_makes_fits_reproducible(cls, data):
    X, y = data
    a = cls(**FAST).fit(X, y).predict_proba_joint(X, n_index=5)
    b = cls(**FAST).fit(X, y).predict_proba_joint(X, n_index=5)
    c = cls(max_epochs=15, random_state=1).fit(X, y).predict_proba_joint(X, n_index=5)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fitting_leaves_the_global_torch_rng_alone(data):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    EpinetClassifier(max_epochs=2, random_state=0).fit(*data)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("cls", ALL)
def test_partial_fit_continues_the_same_training_stream(cls, data):
    X, y = data
    two_epochs = cls(max_epochs=2, random_state=0).fit(X, y)
    one_then_one = cls(max_epochs=1, random_state=0).fit(X, y).partial_fit(X, y)
    np.testing.assert_allclose(
        one_then_one.predict_proba_joint(X, n_index=4),
        two_epochs.predict_proba_joint(X, n_index=4),
        atol=1e-6,
    )


def test_partial_fit_from_scratch_accepts_classes_and_never_reinitialises(data):
    X, y = data
    clf = EpinetClassifier(max_epochs=1, random_state=0)
    clf.partial_fit(X[y == 0][:5], y[y == 0][:5], classes=[0, 1])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    module = clf.module_
    clf.partial_fit(X, y)
    assert clf.module_ is module
    assert len(clf.history) == 2


def test_warm_start_keeps_training_the_same_module(data):
    X, y = data
    clf = BaselineClassifier(max_epochs=2, random_state=0, warm_start=True).fit(X, y)
    module = clf.module_
    clf.fit(X, y)
    assert clf.module_ is module and len(clf.history) == 4


def test_skorch_features_keep_working(data):
    X, y = data

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    counter = CountEpochs()
    clf = EpinetClassifier(
        max_epochs=3,
        random_state=0,
        callbacks=[("count", counter)],
        module__hidden_sizes=(7,),
        optimizer__betas=(0.8, 0.9),
        train_split=lambda X, y: (X, X),  # validate on the training rows
    ).fit(X, y)
    assert counter.epochs_ == 3
    assert clf.module_.base.hidden[0].out_features == 7
    assert clf.optimizer_.param_groups[0]["betas"] == (0.8, 0.9)
    assert "valid_acc" in clf.history[-1] and 0.5 <= clf.history[-1, "valid_acc"] <= 1
    assert clf.get_params()["callbacks__count"] is counter


# -- inputs --------------------------------------------------------------------------


def test_string_and_non_contiguous_labels(data):
    X, y = data
    for labels in (np.array(["cat", "dog"]), np.array([3, 42])):
        clf = EpinetClassifier(**FAST).fit(X, labels[y])
        np.testing.assert_array_equal(clf.classes_, labels)
        assert set(clf.predict(X)) <= set(labels)
        assert clf.score(X, labels[y]) > 0.7


def test_three_classes_with_unsorted_explicit_classes():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    names = np.array(["b", "c", "a"])
    clf = DropoutClassifier(**FAST, classes=["c", "a", "b"]).fit(X, names[y])
    assert clf.predict_proba_joint(X, n_index=3).shape == (3, 60, 3)
    assert clf.score(X, names[y]) > 0.8


@pytest.mark.parametrize("convert", [
    lambda X: X.astype(np.float64),
    lambda X: X.astype(np.float32),
    lambda X: pd.DataFrame(X, columns=list("abcd")),
    lambda X: X.tolist(),
    lambda X: np.asfortranarray(X),
])
def test_accepts_common_input_containers(convert, data, fitted):
    X, y = data
    clf = EpinetClassifier(**FAST).fit(convert(X), y)
    np.testing.assert_allclose(
        clf.predict_proba_joint(convert(X), n_index=3),
        fitted[EpinetClassifier].predict_proba_joint(X, n_index=3),
        atol=1e-5,
    )


# -- scikit-learn contract ----------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
def test_clone_and_nested_params(cls):
    clf = cls(lr=0.01, module__hidden_sizes=(3,), random_state=2)
    copy = clone(clf)
    assert copy.get_params()["module__hidden_sizes"] == (3,)
    assert copy.get_params()["device"] == "auto"
    assert copy.lr == 0.01 and copy.random_state == 2
    copy.set_params(lr=0.1, module__hidden_sizes=(4,))
    assert copy.lr == 0.1 and clf.lr == 0.01


def test_device_auto_resolves_but_the_parameter_stays_auto(fitted):
    clf = fitted[EpinetClassifier]
    assert clf.get_params()["device"] == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert clf.device == expected
    assert next(clf.module_.parameters()).device.type == expected


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("roundtrip", ["pickle", "joblib"])
def test_persistence_reproduces_joint_predictions_exactly(cls, roundtrip, fitted, data):
    clf = fitted[cls]
    if roundtrip == "pickle":
        loaded = pickle.loads(pickle.dumps(clf))
    else:
        buffer = io.BytesIO()
        joblib.dump(clf, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
    np.testing.assert_array_equal(
        loaded.predict_proba_joint(data[0], n_index=6), clf.predict_proba_joint(data[0], n_index=6)
    )
    assert loaded.get_params()["device"] == "auto"
    loaded.partial_fit(*data)  # still trainable


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_baseline_hyperparameters(n_jobs, data):
    X, y = data
    search = GridSearchCV(
        BaselineClassifier(max_epochs=10, random_state=0),
        {"lr": [1e-4, 1e-2], "hidden_sizes": [(8,), (16, 16)]},
        cv=2,
        n_jobs=n_jobs,
    ).fit(X, y)
    assert search.best_params_["lr"] == 1e-2  # 10 epochs at 1e-4 barely move
    assert search.best_estimator_.score(X, y) > 0.8


def test_pipeline_and_cross_validation(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), EpinetClassifier(max_epochs=60, random_state=0))
    scores = cross_val_score(pipe, X * 1000 + 5, y, cv=3)
    assert scores.mean() > 0.8
    pipe.fit(X, y)
    assert pipe[-1].predict_proba_joint(pipe[:-1].transform(X), n_index=3).shape == (3, 120, 2)


# -- bad input: clear errors, nothing changed ----------------------------------------


def snapshot(clf, X):
    return (
        clf.predict_proba_joint(X, n_index=3),
        clf.n_features_in_,
        tuple(clf.classes_),
        len(clf.history),
        sorted(vars(clf)),
    )


def assert_unchanged(before, after):
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


BAD_FIT_INPUTS = [
    ("nan", lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y), ValueError, "NaN"),
    ("inf", lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y), ValueError, "infinity"),
    ("y length", lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
    ("1-D X", lambda X, y: (X[:, 0], y), ValueError, "Expected 2D array"),
    ("3-D X", lambda X, y: (X[:, :, None], y), ValueError, "dim 3"),
    ("empty X", lambda X, y: (X[:0], y[:0]), ValueError, "0 sample"),
    ("continuous y", lambda X, y: (X, y + 0.5), ValueError, "Unknown label type"),
    ("y None", lambda X, y: (X, None), ValueError, "requires y"),
]


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("case, corrupt, error, match", BAD_FIT_INPUTS, ids=[c[0] for c in BAD_FIT_INPUTS])
def test_bad_training_input_raises_and_changes_nothing(method, case, corrupt, error, match, data):
    X, y = data
    clf = EpinetClassifier(**FAST).fit(X, y)
    before = snapshot(clf, X)
    with pytest.raises(error, match=match):
        getattr(clf, method)(*corrupt(X, y))
    assert_unchanged(before, snapshot(clf, X))


def test_fit_rejects_a_single_class_but_partial_fit_accepts_one_later(data):
    X, y = data
    with pytest.raises(ValueError, match=r"only 1 class.*classes=\[\.\.\.\]"):
        EpinetClassifier(**FAST).partial_fit(X, np.zeros_like(y))
    clf = EpinetClassifier(**FAST).fit(X, y)
    before = snapshot(clf, X)
    with pytest.raises(ValueError, match="only 1 class"):
        clf.fit(X, np.zeros_like(y))
    assert_unchanged(before, snapshot(clf, X))
    clf.partial_fit(X[:3], np.zeros(3, dtype=int))  # a batch of one class is normal online


def test_partial_fit_rejects_unseen_labels(data):
    X, y = data
    clf = EpinetClassifier(**FAST).fit(X, y)
    before = snapshot(clf, X)
    with pytest.raises(ValueError, match=r"labels \[7\].*classes=\[\.\.\.\]"):
        clf.partial_fit(X[:5], np.array([0, 1, 7, 0, 1]))
    assert_unchanged(before, snapshot(clf, X))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_proba_joint", "embed"])
def test_predict_rejects_bad_input_and_changes_nothing(method, data):
    X, y = data
    clf = EpinetClassifier(**FAST).fit(X, y)
    before = snapshot(clf, X)
    call = getattr(clf, method)
    with pytest.raises(ValueError, match="X has 3 features, but EpinetClassifier is expecting 4"):
        call(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        call(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="Expected 2D array"):
        call(X[0])
    assert_unchanged(before, snapshot(clf, X))


@pytest.mark.parametrize("n_index, error, match", [
    (0, ValueError, "n_index must be a positive integer, got 0"),
    (-3, ValueError, "n_index must be a positive integer"),
    (2.5, TypeError, "n_index must be a positive integer, got 2.5"),
    ("10", TypeError, "n_index must be a positive integer"),
    (True, TypeError, "n_index must be a positive integer"),
])
def test_n_index_is_validated(n_index, error, match, fitted, data):
    with pytest.raises(error, match=match):
        fitted[EpinetClassifier].predict_proba_joint(data[0], n_index=n_index)


def test_numpy_integer_n_index_is_accepted(fitted, data):
    assert fitted[EpinetClassifier].predict_proba_joint(data[0], n_index=np.int64(2)).shape[0] == 2


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_proba_joint", "embed"])
def test_predicting_before_fit_raises_not_fitted(cls, method, data):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(cls(), method)(data[0])


@pytest.mark.parametrize("params, match", [
    (dict(backbone="resnet"), "backbone='resnet' is not supported"),
    (dict(n_index_train=0), "n_index_train must be a positive integer"),
    (dict(index_dim=2.0), "index_dim must be a positive integer"),
    (dict(prior="gaussian"), "prior='gaussian' is not supported"),
    (dict(prior_input="x"), "prior_input='x' is not supported"),
    (dict(prior_scale=float("nan")), "prior_scale must be a finite non-negative number, got nan"),
    (dict(prior_scale=-1.0), "prior_scale must be a finite non-negative number, got -1.0"),
    (dict(epinet_weight_decay=-0.1), "epinet_weight_decay must be a finite non-negative"),
    (dict(prior_precision=float("inf")), "prior_precision must be a finite non-negative"),
    (dict(weight_decay="1e-4"), "weight_decay must be a finite non-negative number, got '1e-4'"),
])
def test_bad_hyperparameters_are_named(params, match, data):
    clf = EpinetClassifier(**params)
    with pytest.raises((ValueError, TypeError), match=match):
        clf.fit(*data)
    assert not clf.__sklearn_is_fitted__()


def test_a_rejected_refit_leaves_the_fitted_model_as_it_was(data):
    clf = EpinetClassifier(**FAST).fit(*data)
    before = clf.predict_proba_joint(data[0][:5], 4)
    clf.set_params(prior_scale=float("nan"))
    with pytest.raises(ValueError, match="prior_scale"):
        clf.fit(*data)
    np.testing.assert_array_equal(clf.predict_proba_joint(data[0][:5], 4), before)


def test_bad_dropout_and_members_are_named(data):
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        DropoutClassifier(dropout=1.5).fit(*data)
    with pytest.raises(ValueError, match="n_members must be a positive integer"):
        EnsembleClassifier(n_members=0).fit(*data)


def test_initialize_without_data_explains_what_to_do():
    with pytest.raises(AttributeError, match=r"call fit\(X, y\)"):
        EpinetClassifier().initialize()


# -- GPU behaviour that can be checked without a GPU ---------------------------------


def test_prediction_batches_shrink_when_the_gpu_runs_out_of_memory(data, monkeypatch):
    X, y = data
    clf = EpinetClassifier(**FAST, iterator_valid__batch_size=64).fit(X, y)
    expected = clf.predict_proba_joint(X, n_index=5)
    seen = []
    infer = type(clf).infer

    def infer_with_small_gpu(self, x, **kwargs):
        seen.append(len(x))
        if len(x) > 16:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return infer(self, x, **kwargs)

    monkeypatch.setattr(type(clf), "infer", infer_with_small_gpu)
    np.testing.assert_allclose(clf.predict_proba_joint(X, n_index=5), expected, atol=1e-6)
    assert seen[:3] == [64, 32, 16] and max(seen[3:]) <= 16  # halved, then kept
    assert sum(n for n in seen if n <= 16) == len(X)  # every row exactly once


@pytest.mark.filterwarnings("ignore:CUDA is not available:UserWarning")  # built, not entered
def test_cuda_defaults_large_prediction_batches_and_bf16_autocast(data):
    clf = EpinetClassifier(batch_size=32, device="cuda", cuda_batch_size=512)
    assert clf._predict_batch_size(10_000) == 512
    assert clf.set_params(iterator_valid__batch_size=100)._predict_batch_size(10_000) == 100
    autocast = clf._autocast()
    assert isinstance(autocast, torch.autocast) and autocast.fast_dtype == torch.bfloat16
    assert not isinstance(clf.set_params(mixed_precision=False)._autocast(), torch.autocast)
    assert not isinstance(EpinetClassifier(device="cpu")._autocast(), torch.autocast)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("iterator", [{}, {"iterator_train__shuffle": True},
                                      {"iterator_train__shuffle": True, "batch_size": 7,
                                       "iterator_train__drop_last": True}])
def test_in_memory_batches_are_the_data_loaders_batches(cls, iterator, data, monkeypatch):
    """The sliced fast path trains exactly as skorch's DataLoader over its Dataset."""
    from skepinet.batches import TensorBatches

    X, y = data
    fast = cls(**FAST, **iterator).fit(X, y)
    assert isinstance(fast.get_iterator(fast.get_dataset(X.astype(np.float32), y), True),
                      TensorBatches)
    monkeypatch.setattr(TensorBatches, "maybe", classmethod(lambda *a: None))
    slow = cls(**FAST, **iterator).fit(X, y)
    assert isinstance(slow.get_iterator(slow.get_dataset(X, y), True), torch.utils.data.DataLoader)
    np.testing.assert_array_equal(fast.predict_proba_joint(X, n_index=5),
                                  slow.predict_proba_joint(X, n_index=5))
    assert [e["train_loss"] for e in fast.history_] == [e["train_loss"] for e in slow.history_]


def test_the_fast_path_steps_aside_for_what_it_does_not_handle(data):
    from skepinet.batches import TensorBatches

    X, y = data
    X = X.astype(np.float32)
    clf = EpinetClassifier(**FAST).fit(X, y)
    assert isinstance(clf.get_iterator(clf.get_dataset(X, y), training=True),
                      TensorBatches)
    # DataLoader options it does not reproduce, data without targets, other datasets.
    for params in ({"iterator_train__num_workers": 0}, {"iterator_train__pin_memory": True}):
        clf = EpinetClassifier(**FAST, **params).fit(X, y)
        assert isinstance(clf.get_iterator(clf.get_dataset(X, y), training=True),
                          torch.utils.data.DataLoader)
    assert not isinstance(clf.get_iterator(clf.get_dataset(X, None), training=True),
                          TensorBatches)
    subset = torch.utils.data.Subset(clf.get_dataset(X, y), range(10))
    assert not isinstance(clf.get_iterator(subset, training=True), TensorBatches)


def test_read_only_arrays_train_without_a_warning_and_alike(data):
    import warnings

    X, y = data
    X = X.astype(np.float32)
    frozen, labels = X.copy(), y.copy()
    frozen.setflags(write=False)
    labels.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_only = EpinetClassifier(**FAST).fit(frozen, labels)
    np.testing.assert_array_equal(read_only.predict_proba_joint(X, n_index=3),
                                  EpinetClassifier(**FAST).fit(X, y).predict_proba_joint(X, 3))


def test_names_that_estimators_pickled_before_the_split_refer_to_still_resolve():
    """Pickles name the validation scorer where it lived: skepinet.estimators."""
    import skepinet.base as base
    import skepinet.batches as batches
    import skepinet.estimators as estimators

    assert estimators._accuracy_on_encoded is base.accuracy_on_encoded
    assert estimators._TensorBatches is batches.TensorBatches
    assert issubclass(estimators.EpinetClassifier, base.ENNClassifier)

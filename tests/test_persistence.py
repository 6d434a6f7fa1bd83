"""The safe checkpoint format: exact round trips, no code run on load, corruption detected."""

import json
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import torch
from skorch.callbacks import EpochScoring

from skepinet import (
    ActiveLearner,
    CheckpointError,
    DropoutClassifier,
    EpinetClassifier,
    load_estimator,
    migrate_checkpoint,
    save_estimator,
    variance,
)
from skepinet.datasets import make_testbed_classification
from skepinet.estimators import ESTIMATORS
from skepinet.networks import EpinetNet
from skepinet.persistence import MANIFEST, TENSORS, read_manifest


class WiderEpinet(EpinetNet):
    """A module class outside skepinet's allow-list (it lives in a test module)."""


@pytest.fixture(scope="module")
def data():
    return make_testbed_classification(200, n_features=4, random_state=1)


@pytest.fixture(scope="module")
def fitted(data):
    return {cls: cls(hidden_sizes=(16,), max_epochs=3, random_state=0).fit(*data)
            for cls in ESTIMATORS.values()}


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.skepinet"
    save_estimator(fitted[EpinetClassifier], path)
    return path


@pytest.mark.parametrize("cls", ESTIMATORS.values())
def test_a_loaded_estimator_predicts_and_trains_on_exactly_as_the_saved_one(cls, fitted, data,
                                                                            tmp_path):
    X, y = data
    original = fitted[cls]
    save_estimator(original, tmp_path / "m.skepinet")
    loaded = load_estimator(tmp_path / "m.skepinet")
    assert type(loaded) is cls
    assert loaded.get_params().keys() == original.get_params().keys()
    np.testing.assert_array_equal(loaded.predict_proba_joint(X, n_index=9),
                                  original.predict_proba_joint(X, n_index=9))
    assert len(loaded.history_) == len(original.history_)
    # Optimizer moments and RNG state came back too: further training matches.
    clone_of_original = pickle.loads(pickle.dumps(original))
    clone_of_original.partial_fit(X[:50], y[:50])
    loaded.partial_fit(X[:50], y[:50])
    np.testing.assert_array_equal(loaded.predict_proba_joint(X, n_index=9),
                                  clone_of_original.predict_proba_joint(X, n_index=9))


def test_an_unfitted_estimator_round_trips_its_parameters(tmp_path):
    estimator = EpinetClassifier(hidden_sizes=(7, 3), prior_scale=0.5, lr=0.01,
                                 callbacks=[("acc", EpochScoring("accuracy"))])
    save_estimator(estimator, tmp_path / "m.skepinet")
    loaded = load_estimator(tmp_path / "m.skepinet")
    assert loaded.hidden_sizes == (7, 3) and loaded.prior_scale == 0.5 and loaded.lr == 0.01
    (name, callback), = loaded.callbacks
    assert name == "acc" and isinstance(callback, EpochScoring)
    assert callback.scoring == "accuracy"
    assert not loaded.__sklearn_is_fitted__()


def test_the_archive_is_json_and_safetensors_and_never_a_pickle(saved, data, monkeypatch):
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == sorted([MANIFEST, TENSORS])
        manifest = json.loads(archive.read(MANIFEST))
    assert manifest["format"] == "skepinet-checkpoint"
    assert manifest["estimator"]["class"] == "skepinet.estimators:EpinetClassifier"
    assert manifest["estimator"]["params"]["hidden_sizes"] == {"__tuple__": [16]}
    assert read_manifest(saved) == manifest

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a checkpoint load unpickled something")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(torch, "load", no_unpickling)
    assert load_estimator(saved).predict_proba_joint(data[0][:3], n_index=2).shape == (2, 3, 2)


def _rewrite_manifest(path, edit):
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        tensors = archive.read(TENSORS)
    edit(manifest)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
        archive.writestr(TENSORS, tensors)


def test_a_class_outside_the_allow_list_needs_trusted(data, tmp_path):
    estimator = EpinetClassifier(module=WiderEpinet, hidden_sizes=(8,), max_epochs=1,
                                 random_state=0).fit(*data)
    path = tmp_path / "custom.skepinet"
    save_estimator(estimator, path)
    with pytest.raises(CheckpointError, match=r"custom.skepinet names .*WiderEpinet as module"
                                              r".*trusted=\[WiderEpinet\]"):
        load_estimator(path)
    loaded = load_estimator(path, trusted=[WiderEpinet])
    assert isinstance(loaded.module_, WiderEpinet)
    np.testing.assert_array_equal(loaded.predict_proba_joint(data[0], n_index=3),
                                  estimator.predict_proba_joint(data[0], n_index=3))


@pytest.mark.parametrize("where, name", [
    ("module", "os:system"),                       # not a module class at all
    ("module", "torch.optim:Adam"),                # allowed package, wrong role
    ("callback", "subprocess:Popen"),
    ("class", "builtins:eval"),
])
def test_a_hostile_manifest_is_refused_before_any_code_runs(saved, where, name, monkeypatch):
    import os
    import subprocess

    def edit(manifest):
        record = manifest["estimator"]
        if where == "module":
            record["params"]["module"] = {"__class__": name}
        elif where == "callback":
            record["params"]["callbacks"] = [{"__tuple__": ["x", {"__callback__": name,
                                                                   "params": {"args": "id"}}]}]
        else:
            record["class"] = name

    _rewrite_manifest(saved, edit)
    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: called.append(a))
    with pytest.raises(CheckpointError, match=name.split(":")[1]):
        load_estimator(saved)
    assert not called


def test_a_truncated_checkpoint_is_named_and_explained(saved):
    saved.write_bytes(saved.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"model.skepinet is not a readable skepinet "
                                              r"checkpoint.*truncated or corrupted"):
        load_estimator(saved)


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    path = tmp_path / "noise.skepinet"
    path.write_bytes(np.random.default_rng(0).bytes(4000).replace(b"\x80", b"\x01", 1))
    with pytest.raises(CheckpointError, match="noise.skepinet is not a readable"):
        load_estimator(path)


def test_flipped_bytes_in_the_weights_fail_the_checksum(saved):
    blob = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo(TENSORS)
    # Past the local header: the middle of the (stored, uncompressed) tensors member.
    start = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    for i in range(40):
        blob[start + i] ^= 0xFF
    saved.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match=r"model.skepinet.*(SHA-256|CRC)"):
        load_estimator(saved)


def test_a_zip_that_is_not_a_checkpoint_and_a_future_version_are_refused(saved, tmp_path):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr(MANIFEST, json.dumps({"format": "something-else"}))
        archive.writestr(TENSORS, b"")
    with pytest.raises(CheckpointError, match="other.zip is a zip archive but not a skepinet"):
        load_estimator(other)
    _rewrite_manifest(saved, lambda m: m.update(format_version=99))
    with pytest.raises(CheckpointError, match="format 99; this skepinet reads format 1"):
        load_estimator(saved)


def test_an_estimator_file_is_not_a_learner_and_back(saved, fitted, tmp_path):
    with pytest.raises(CheckpointError, match="holds a estimator, not an ActiveLearner; load"):
        ActiveLearner.load(saved)
    learner = ActiveLearner(fitted[EpinetClassifier], variance, random_state=0)
    learner.save(tmp_path / "learner.skepinet")
    with pytest.raises(CheckpointError, match="not an estimator; load it with ActiveLearner.load"):
        load_estimator(tmp_path / "learner.skepinet")


def test_an_object_that_cannot_be_stored_safely_is_named(data, tmp_path):
    estimator = EpinetClassifier(max_epochs=1, callbacks=[("mine", lambda *a: None)])
    with pytest.raises(TypeError, match=r"callbacks.*closure|script"):
        save_estimator(estimator, tmp_path / "m.skepinet")
    assert not list(tmp_path.iterdir()), "a failed save left a file"
    with pytest.raises(TypeError, match="skepinet checkpoints hold skepinet estimators"):
        save_estimator(object(), tmp_path / "m.skepinet")


def test_a_pickled_checkpoint_of_skepinet_0_1_is_refused_then_migrated(fitted, data, tmp_path):
    old, new = tmp_path / "old.joblib", tmp_path / "new.skepinet"
    learner = ActiveLearner(fitted[EpinetClassifier], variance, random_state=0)
    joblib.dump(learner, old)
    with pytest.raises(CheckpointError, match=r"old.joblib is a pickle.*migrate_checkpoint"):
        ActiveLearner.load(old)
    with pytest.raises(ValueError, match="trust_pickle=True"):
        migrate_checkpoint(old, new)
    assert not new.exists()
    migrate_checkpoint(old, new, trust_pickle=True)
    np.testing.assert_array_equal(ActiveLearner.load(new).predict_proba_joint(data[0], 5),
                                  learner.predict_proba_joint(data[0], 5))
    joblib.dump(fitted[DropoutClassifier], old)  # a bare estimator, joblib-compressed too
    joblib.dump(fitted[DropoutClassifier], tmp_path / "old.z", compress=3)
    for path in (old, tmp_path / "old.z"):
        with pytest.raises(CheckpointError, match="is a pickle"):
            load_estimator(path)
    migrate_checkpoint(tmp_path / "old.z", new, trust_pickle=True)
    np.testing.assert_array_equal(load_estimator(new).predict_proba_joint(data[0], 5),
                                  fitted[DropoutClassifier].predict_proba_joint(data[0], 5))


@pytest.mark.parametrize("freeze", [True, False])
def test_a_text_estimator_round_trips(tiny_bert, make_sentences, tmp_path, freeze):
    texts, y = make_sentences(24)
    estimator = EpinetClassifier(backbone="bert", pretrained=tiny_bert, freeze_encoder=freeze,
                                 max_epochs=2, random_state=0).fit(texts, y)
    save_estimator(estimator, tmp_path / "text.skepinet")
    loaded = load_estimator(tmp_path / "text.skepinet")
    np.testing.assert_allclose(loaded.predict_proba_joint(texts, n_index=4),
                               estimator.predict_proba_joint(texts, n_index=4), atol=1e-6)

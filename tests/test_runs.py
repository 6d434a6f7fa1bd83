"""Tests of skepinet.runs: the run state, and the guards around a run's files."""

import json
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from skepinet import EpinetClassifier
from skepinet.datasets import make_testbed_classification
from skepinet.learner import ActiveLearner
from skepinet.persistence import CheckpointError, read_manifest
from skepinet.runs import (RunState, check_checkpoint_folder, check_finite_pool, journal_path,
                           pool_fingerprint)

# The keys a run state had when it was a dict (skepinet 0.2), before ``sgd_steps`` was set;
# the keys added since, in order.
OLD_KEYS = ["n_pool", "unlabelled", "labelled", "labels", "pending", "n_labelled", "step",
            "elapsed", "classes", "pool_fingerprint"]
NEW_KEYS = ["sgd_steps", "refitted_at"]


def test_record_marks_rows_labelled_and_pending():
    state = RunState.start(6, classes=[0, 1], fingerprint="abc")
    state.record(np.array([4, 1]), np.array([1, 0]))
    state.record(np.array([2]), np.array([1]))
    assert state.unlabelled.tolist() == [True, False, False, True, False, True]
    assert state.labelled == [4, 1, 2] and state.labels == [1, 0, 1]
    assert state.pending == [2] and state.n_labelled == 3 and state.step == 2
    assert state.classes.tolist() == [0, 1] and state.pool_fingerprint == "abc"


def test_the_record_round_trips_and_an_old_dict_loads():
    state = RunState.start(4, fingerprint="f")
    state.record(np.array([3]), np.array(["pos"]))
    record = state.to_dict()
    assert isinstance(record, dict) and list(record) == OLD_KEYS + NEW_KEYS
    again = RunState.from_dict(record)
    assert again.labelled == [3] and again.labels == ["pos"] and again.step == 1
    np.testing.assert_array_equal(again.unlabelled, state.unlabelled)
    old = {key: record[key] for key in OLD_KEYS}
    assert RunState.from_dict(old).sgd_steps == 0
    assert RunState.from_dict(old).refitted_at == 0


def test_a_record_with_unknown_fields_is_refused():
    record = RunState.start(2).to_dict()
    record["mystery"] = 1
    with pytest.raises(CheckpointError, match="mystery"):
        RunState.from_dict(record)


def test_reading_it_as_a_dict_still_works_with_a_warning():
    state = RunState.start(3)
    with pytest.warns(FutureWarning, match=r"run_state_\.n_pool"):
        assert state["n_pool"] == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(KeyError):
            state["nothing"]


def _drop_new_keys(path):
    """Rewrite a checkpoint as skepinet 0.2 wrote it: the run state a dict without sgd_steps."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["skepinet.json"])
    for key in NEW_KEYS:
        manifest["learner"]["run_state"].pop(key)
    members["skepinet.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_a_checkpoint_stores_the_state_as_before_and_an_old_one_resumes(tmp_path):
    X, y = make_testbed_classification(300, n_features=4, random_state=0)
    path = tmp_path / "run.skepinet"

    def learner():
        return ActiveLearner(EpinetClassifier(hidden_sizes=(8,), random_state=0),
                             random_state=0)

    first = learner()
    first.run(X, y, budget=20, candidate_size=30, acquisition_size=10, checkpoint=path,
              progress=False)
    stored = read_manifest(path)["learner"]["run_state"]
    assert list(stored) == OLD_KEYS + NEW_KEYS and stored["n_labelled"] == 20
    _drop_new_keys(path)
    resumed = ActiveLearner.load(path)
    assert isinstance(resumed.run_state_, RunState) and resumed.run_state_.sgd_steps == 0
    assert resumed.run_state_.labelled == first.run_state_.labelled
    resumed.run(X, y, budget=30, candidate_size=30, acquisition_size=10, progress=False)
    assert resumed.run_state_.n_labelled == 30
    assert len(set(resumed.run_state_.labelled)) == 30


def test_pool_fingerprint_reads_content_in_chunks_and_texts_too():
    X = np.random.default_rng(0).normal(size=(1000, 3))
    assert pool_fingerprint(X) == pool_fingerprint(X, chunk_rows=7)
    assert pool_fingerprint(X) == pool_fingerprint(pd.DataFrame(X))
    changed = X.copy()
    changed[999, 2] += 1e-9
    assert pool_fingerprint(changed) != pool_fingerprint(X)
    texts = np.array(["a film", "a play"])
    assert pool_fingerprint(texts) != pool_fingerprint(texts[::-1])
    assert pool_fingerprint(["a", "b"]) == pool_fingerprint(np.array(["a", "b"]))


def test_a_pool_with_nan_is_refused_naming_the_row():
    X = np.zeros((100, 2))
    X[73, 1] = np.inf
    with pytest.raises(ValueError, match="row 73"):
        check_finite_pool(X, chunk_rows=16)
    check_finite_pool(["texts", "pass"])


def test_checkpoint_folder_and_journal_path(tmp_path):
    with pytest.raises(ValueError, match="journal=.*does not exist"):
        check_checkpoint_folder(tmp_path / "missing" / "j.jsonl", "journal")
    check_checkpoint_folder(tmp_path / "run.skepinet")
    assert journal_path(None, tmp_path / "run.skepinet") == str(tmp_path / "run.skepinet") \
        + ".journal.jsonl"
    assert journal_path(tmp_path / "mine.jsonl", None) == str(tmp_path / "mine.jsonl")
    assert journal_path(None, None) is None

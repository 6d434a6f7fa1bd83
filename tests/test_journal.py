"""The answer journal: durable, readable without Python, replayed on resume."""

import json
import os
import shutil

import numpy as np
import pytest

from skepinet import ActiveLearner, EpinetClassifier, read_journal, variance
from skepinet.datasets import make_testbed_classification
from skepinet.journal import AnswerJournal

RUN = dict(candidate_size=30, acquisition_size=5, classes=[0, 1], n_index=10, progress=False)


@pytest.fixture(scope="module")
def pool():
    return make_testbed_classification(150, n_features=4, random_state=1)


def learner():
    return ActiveLearner(EpinetClassifier(hidden_sizes=(8,), max_epochs=2, random_state=0),
                         variance, random_state=0)


def interrupted_person(y, after):
    """An oracle answering row by row that is interrupted once, after ``after`` answers."""
    asked, stop = [], [after]

    def oracle(rows, indices):
        for i in indices:
            if len(asked) == stop[0]:
                stop[0] = None
                raise KeyboardInterrupt  # the person closed the laptop mid-batch
            asked.append(int(i))
            yield y[i]

    return oracle, asked


def answers(path):
    return [(r["row"], r["label"]) for r in read_journal(path) if r["event"] == "answer"]


def test_every_record_is_one_fsynced_json_line_with_the_pool_and_time(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    journal = AnswerJournal(tmp_path / "j.jsonl", fingerprint="abc")
    journal.ask(1, np.array([4, 7]))
    journal.answer(1, [4], [np.int64(1)])
    journal.answer(1, [7], ["pos"])
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == ["ask", "answer", "answer"]
    assert records[0]["rows"] == [4, 7]
    assert records[1]["label"] == 1 and records[2]["label"] == "pos"
    assert all(r["pool"] == "abc" and r["time"].startswith("20") for r in records)
    assert len(synced) >= 3  # each write reached the disk before returning


def test_a_torn_last_line_is_dropped_and_cut_before_the_next_write(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = AnswerJournal(path, "abc")
    journal.answer(1, [3], [0])
    with open(path, "a") as f:
        f.write('{"event": "answer", "step": 1, "row": 5, "lab')  # killed mid-write
    assert answers(path) == [(3, 0)]
    AnswerJournal(path, "abc").answer(1, [5], [1])
    assert answers(path) == [(3, 0), (5, 1)]


def test_a_corrupted_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "j.jsonl"
    AnswerJournal(path, "abc").answer(1, [3, 4], [0, 1])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "garbage", lines[1]]) + "\n")
    with pytest.raises(ValueError, match=r"j.jsonl, line 2, is not a journal record"):
        read_journal(path)
    path.write_text('{"event": "deleted"}\n')
    with pytest.raises(ValueError, match=r"line 1, is not a journal record"):
        read_journal(path)
    assert read_journal(tmp_path / "missing.jsonl") == []


def test_the_journal_alone_resumes_a_run_without_asking_again(pool, tmp_path):
    X, y = pool
    oracle, asked = interrupted_person(y, after=17)
    journal = tmp_path / "answers.jsonl"
    with pytest.raises(KeyboardInterrupt):
        learner().run(X, oracle, 30, journal=journal, **RUN)
    assert answers(journal) == [(i, int(y[i])) for i in asked]
    resumed = learner()
    resumed.run(X, oracle, 30, journal=journal, **RUN)
    assert len(asked) == len(set(asked)) == 30
    reference = learner()
    reference.run(X, y, 30, **RUN)
    assert resumed.run_state_.labelled == reference.run_state_.labelled == asked
    np.testing.assert_array_equal(resumed.predict_proba_joint(X, 5),
                                  reference.predict_proba_joint(X, 5))


def test_an_interrupted_learner_resumes_in_memory_from_its_journal(pool, tmp_path):
    X, y = pool
    oracle, asked = interrupted_person(y, after=8)
    checkpoint = tmp_path / "run.skepinet"
    same = learner()
    with pytest.raises(KeyboardInterrupt):
        same.run(X, oracle, 20, checkpoint=checkpoint, **RUN)
    same.run(X, oracle, 20, checkpoint=checkpoint, **RUN)
    assert len(asked) == len(set(asked)) == 20
    assert answers(str(checkpoint) + ".journal.jsonl") == [(i, int(y[i])) for i in asked]


def test_a_journal_of_another_pool_is_refused_before_anyone_is_asked(pool, tmp_path):
    X, y = pool
    journal = tmp_path / "answers.jsonl"
    learner().run(X, y, 10, journal=journal, **RUN)
    fresh = learner()
    with pytest.raises(ValueError, match=r"answers.jsonl holds answers about another pool "
                                         r"\(fingerprint \w+, this X_pool's is \w+\)"):
        fresh.run(X[::-1], lambda r, i: pytest.fail("asked"), 20, journal=journal, **RUN)
    assert fresh.run_state_ is None


def test_a_fresh_learner_does_not_overwrite_a_checkpoint_holding_a_run(pool, tmp_path):
    X, y = pool
    checkpoint = tmp_path / "run.skepinet"
    learner().run(X, y, 10, checkpoint=checkpoint, **RUN)
    before = checkpoint.read_bytes()
    fresh = learner()
    with pytest.raises(ValueError, match=r"run.skepinet' already holds a run with 10 labels.*"
                                         r"ActiveLearner.load\(checkpoint\)"):
        fresh.run(X, y, 20, checkpoint=checkpoint, **RUN)
    assert checkpoint.read_bytes() == before and fresh.run_state_ is None
    resumed = ActiveLearner.load(checkpoint)
    resumed.run(X, y, 20, checkpoint=checkpoint, **RUN)
    assert resumed.run_state_.n_labelled == 20


def test_a_full_disk_is_found_before_anyone_is_asked(pool, tmp_path, monkeypatch):
    X, y = pool
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    fresh = learner()
    with pytest.raises(OSError, match=r"has 0.0 MB free.*need about .* MB.*Nothing was asked"):
        fresh.run(X, lambda r, i: pytest.fail("asked"), 20,
                  checkpoint=tmp_path / "run.skepinet", **RUN)
    assert fresh.run_state_ is None


def test_string_labels_are_journalled_as_text(pool, tmp_path):
    X, y = pool
    names = np.array(["neg", "pos"])
    journal = tmp_path / "answers.jsonl"
    run = {**RUN, "classes": ["neg", "pos"]}
    learner().run(X, lambda rows, i: names[y[i]], 10, journal=journal, **run)
    assert {label for _, label in answers(journal)} <= {"neg", "pos"}
    assert '"label": "pos"' in journal.read_text() or '"label": "neg"' in journal.read_text()


def test_skip_and_undo_records_are_written_and_read_back(tmp_path):
    journal = AnswerJournal(tmp_path / "j.jsonl", "abc")
    written = journal.ask(1, [4], predicted="pos", confidence=0.75)
    assert written[0]["predicted"] == "pos" and written[0]["pool"] == "abc" and written[0]["time"]
    journal.skip(1, 4)
    journal.undo(1, 4)
    records = read_journal(tmp_path / "j.jsonl")
    assert [r["event"] for r in records] == ["ask", "skip", "undo"]
    assert records[0]["confidence"] == 0.75 and records[2]["row"] == 4
    assert records[0] == written[0]

"""Tests of skepinet.oracle: every answer checked, then journalled, before the next."""

import numpy as np
import pytest

from skepinet.journal import AnswerJournal, read_journal
from skepinet.oracle import ask, check_answer, check_classes, known_classes, make_oracle

X = np.arange(20.0).reshape(10, 2)


def test_an_array_oracle_answers_by_pool_row_and_must_cover_the_pool():
    labels_of = make_oracle(np.arange(10) % 2, 10)
    assert labels_of(X[[3, 4]], np.array([3, 4])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="oracle has 9 labels but X_pool has 10 rows"):
        make_oracle(np.zeros(9), 10)
    with pytest.raises(ValueError, match="requery=True"):
        make_oracle(np.zeros(10), 10, requery=True)


def test_classes_and_answers_are_checked():
    with pytest.raises(ValueError, match="at least 2"):
        check_classes([1])
    with pytest.raises(ValueError, match="every label once"):
        check_classes([0, 0, 1])
    known = known_classes(None, type("Fitted", (), {"classes_": np.array(["neg", "pos"])}))
    assert known == {"neg", "pos"}
    check_answer(known, 3, "pos")
    with pytest.raises(ValueError, match=r"'maybe' \(str\) for pool row 3"):
        check_answer(known, 3, "maybe")
    with pytest.raises(ValueError, match="The 2 answers before it are saved"):
        check_answer(known, 3, ["pos"], saved=2)
    check_answer(None, 3, "anything")


def test_answers_are_journalled_and_a_bad_batch_records_nothing(tmp_path):
    journal = AnswerJournal(tmp_path / "j.jsonl", "pool")
    chosen, labels = ask(lambda rows, idx: idx % 2, X, 1, np.array([5, 2]), known={0, 1},
                         journal=journal)
    assert chosen.tolist() == [5, 2] and labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="returned 1 labels for 2 rows"):
        ask(lambda rows, idx: [0], X, 2, np.array([1, 3]), known={0, 1}, journal=journal)
    events = [(r["event"], r["step"]) for r in read_journal(tmp_path / "j.jsonl")]
    assert events == [("ask", 1), ("answer", 1), ("answer", 1), ("ask", 2)]


def test_a_generator_oracle_keeps_the_answers_it_gave(tmp_path):
    journal = AnswerJournal(tmp_path / "j.jsonl", "pool")

    def two_then_stop(rows, indices):
        yield 1
        yield 0

    with pytest.raises(ValueError, match="yielded 2 labels for 3 rows"):
        ask(two_then_stop, X, 1, np.array([7, 8, 9]), known={0, 1}, journal=journal)
    answers = [(r["row"], r["label"]) for r in read_journal(tmp_path / "j.jsonl")
               if r["event"] == "answer"]
    assert answers == [(7, 1), (8, 0)]


def test_banked_answers_are_not_asked_again():
    asked = []

    def oracle(rows, indices):
        asked.extend(indices.tolist())
        return np.ones(len(indices), dtype=int)

    banked = {"rows": [4, 6, 8], "answers": {4: 0, 8: 0}}
    chosen, labels = ask(oracle, X, 3, np.array([1, 2, 3]), known={0, 1}, banked=banked)
    assert chosen.tolist() == [4, 6, 8] and labels.tolist() == [0, 1, 0] and asked == [6]

"""LabellingSession: the journal is the truth, the model trains aside, bad input fails first."""

import csv
import json

import numpy as np
import pandas as pd
import pytest

from skepinet import ActiveLearner, EpinetClassifier, load_estimator, read_journal
from skepinet.labelling import (
    LabellingError,
    LabellingSession,
    check_labels,
    make_text_estimator,
    read_table,
)

pytest.importorskip("transformers")

N_ROWS = 60


@pytest.fixture
def table(tmp_path, make_sentences):
    texts, y = make_sentences(N_ROWS)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"text": texts, "truth": np.array(["neg", "pos"])[y]}).to_csv(path, index=False)
    return path


@pytest.fixture
def truth(table):
    return pd.read_csv(table)["truth"].tolist()


@pytest.fixture
def open_session(table, tmp_path, tiny_bert):
    sessions = []

    def opener(**kwargs):
        settings = {"text_column": "text", "labels": ["neg", "pos"], "retrain_every": 5,
                        "candidate_size": 20, "n_index": 10, "budget": 30,
                        "estimator": make_text_estimator(labels=["neg", "pos"], pretrained=tiny_bert,
                                                      max_length=16)}
        settings.update(kwargs)
        session = LabellingSession(table, tmp_path / "session", **settings)
        sessions.append(session)
        return session

    yield opener
    for session in sessions:
        session.close()


def shown(state):
    return state["row"]["id"]


def label_rows(session, truth, n):
    state = session.state()
    for _ in range(n):
        state = session.answer(shown(state), truth[shown(state)])
    return state


# -- reading tables -------------------------------------------------------------


@pytest.mark.parametrize("extension", ["csv", "tsv", "jsonl", "json", "parquet"])
def test_read_table_reads_each_format(tmp_path, extension):
    frame = pd.DataFrame({"text": ["a \"quoted\" one", "two, with comma", "3"],
                          "hypothesis": ["x", "y", "z"]})
    path = tmp_path / f"data.{extension}"
    if extension == "csv":
        frame.to_csv(path, index=False)
    elif extension == "tsv":
        path.write_text("text\thypothesis\n" + "".join(f"{a}\t{b}\n" for a, b in frame.values))
    elif extension == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif extension == "json":
        frame.to_json(path, orient="records")
    else:
        frame.to_parquet(path)
    texts, pairs = read_table(path, "text", "hypothesis")
    assert texts == ["a \"quoted\" one", "two, with comma", "3"]
    assert pairs == ["x", "y", "z"]


def test_read_table_keeps_a_numeric_text_column_as_text(tmp_path):
    path = tmp_path / "numbers.jsonl"
    path.write_text('{"text": 12}\n{"text": 3.5}\n')
    assert read_table(path, "text")[0] == ["12", "3.5"]


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("text,label\n", "has no rows"),
    ("text,label\nfine,1\n,0\n  ,1\n", "2 empty cell"),
    ("sentence\nhello\n", r"no column 'text'; its columns are \['sentence'\]"),
])
def test_read_table_refuses_unusable_csv(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(LabellingError, match=message):
        read_table(path, "text")


def test_read_table_names_the_missing_pair_column(table):
    with pytest.raises(LabellingError, match="--pair-column"):
        read_table(table, "text", "hypothesis")


def test_read_table_refuses_missing_unknown_and_unreadable_files(tmp_path):
    with pytest.raises(LabellingError, match="no such file"):
        read_table(tmp_path / "nope.csv", "text")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(LabellingError, match="cannot tell the format"):
        read_table(tmp_path / "data.xlsx", "text")
    (tmp_path / "data.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(LabellingError, match="cannot read DATA .* as Parquet"):
        read_table(tmp_path / "data.parquet", "text")
    (tmp_path / "data.jsonl").write_text("{broken\n")
    with pytest.raises(LabellingError, match="as JSON lines"):
        read_table(tmp_path / "data.jsonl", "text")


@pytest.mark.parametrize("labels, message", [
    ("pos", "at least 2 labels"),
    (["pos", "neg", "pos"], r"\['pos'\] given more than once"),
    ("pos,,neg", "empty"),
])
def test_check_labels_refuses_bad_label_sets(labels, message):
    with pytest.raises(LabellingError, match=message):
        check_labels(labels)


def test_check_labels_splits_and_strips():
    assert check_labels(" pos , neg ") == ["pos", "neg"]


# -- answering, skipping, undoing ---------------------------------------------------


def test_every_answer_is_in_the_journal_before_the_next_row(open_session, truth, tmp_path):
    session = open_session(retrain_every=1000)
    state = session.state()
    first = shown(state)
    state = session.answer(first, truth[first])
    records = read_journal(tmp_path / "session" / "journal.jsonl")
    assert [r["event"] for r in records] == ["ask", "answer", "ask"]
    assert records[1]["row"] == first and records[1]["label"] == truth[first]
    assert records[2]["rows"] == [shown(state)] != [first]
    assert state["labelled"] == 1 and state["can_undo"]


def test_undo_brings_the_last_row_back_and_drops_its_answer(open_session, truth):
    session = open_session(retrain_every=1000)
    state = label_rows(session, truth, 3)
    last = session.answers_in_order()[-1]["row"]
    on_screen = shown(state)
    state = session.undo()
    assert shown(state) == last and state["labelled"] == 2
    state = session.answer(last, "neg" if truth[last] == "pos" else "pos")  # a corrected answer
    assert shown(state) == on_screen  # the row that was waiting comes next
    assert [a["row"] for a in session.answers_in_order()][-1] == last
    assert session.answers_in_order()[-1]["label"] != truth[last]


def test_skip_passes_a_row_over_and_undo_takes_the_skip_back(open_session, truth):
    session = open_session(retrain_every=1000)
    first = shown(session.state())
    state = session.skip(first)
    assert state["skipped"] == 1 and shown(state) != first
    state = session.undo()
    assert shown(state) == first and state["skipped"] == 0


def test_undo_with_nothing_to_undo_is_refused(open_session):
    session = open_session(retrain_every=1000)
    with pytest.raises(LabellingError, match="nothing to undo"):
        session.undo()


def test_a_row_not_on_screen_is_refused_and_a_repeat_changes_nothing(open_session, truth):
    session = open_session(retrain_every=1000)
    first = shown(session.state())
    state = session.answer(first, truth[first])
    with pytest.raises(LabellingError, match="not the row on screen"):
        session.answer((shown(state) + 1) % N_ROWS, "pos")
    repeated = session.answer(first, truth[first])  # a double click
    assert repeated["labelled"] == 1 and shown(repeated) == shown(state)
    with pytest.raises(LabellingError, match="not one of"):
        session.answer(shown(state), "maybe")


def test_a_restart_resumes_from_the_journal_alone(open_session, truth):
    session = open_session(retrain_every=1000)
    state = label_rows(session, truth, 4)
    session.skip(shown(state))
    state = session.undo()  # the skipped row is on screen again
    session.close()
    # A new process: nothing but the folder survives.
    again = open_session(retrain_every=1000)
    resumed = again.state()
    assert shown(resumed) == shown(state)
    assert resumed["labelled"] == 4 and resumed["skipped"] == 0
    assert again.answers_in_order() == session.answers_in_order()


def test_the_budget_ends_the_session_and_undo_reopens_it(open_session, truth):
    session = open_session(budget=3, retrain_every=1000)
    state = label_rows(session, truth, 3)
    assert state["done"] and state["row"] is None and state["labelled"] == 3
    state = session.undo()
    assert not state["done"] and state["labelled"] == 2


def test_a_session_refuses_data_that_changed_and_other_labels(open_session, table):
    open_session().close()
    with pytest.raises(LabellingError, match="labelled with labels"):
        open_session(labels=["negative", "positive"])
    with table.open("a") as f:
        f.write("one more row,pos\n")
    with pytest.raises(LabellingError, match="changed since the last session"):
        open_session()


def test_strategy_and_budget_are_checked(open_session):
    with pytest.raises(LabellingError, match="strategy 'loudest'"):
        open_session(strategy="loudest")
    with pytest.raises(LabellingError, match="budget=0"):
        open_session(budget=0)


# -- the model in the background ----------------------------------------------------


def test_background_training_ranks_rows_by_the_strategy(open_session, truth, tmp_path):
    session = open_session(strategy="margin", retrain_every=10, candidate_size=30)
    label_rows(session, truth, 10)
    assert session.wait_until_trained(timeout=120)
    state = session.state()
    assert state["model"]["version"] == 1 and state["model"]["labels"] == 10
    label_rows(session, truth, 5)
    asks = [r for r in read_journal(tmp_path / "session" / "journal.jsonl")
            if r["event"] == "ask" and r.get("model") == 1]
    # margin asks about the least confident rows first: confidence never falls.
    confidence = [r["confidence"] for r in asks]
    assert len(confidence) >= 5 and confidence == sorted(confidence)
    assert (tmp_path / "session" / "model.skepinet").exists()


def test_rows_keep_coming_while_the_model_trains(open_session, truth):
    session = open_session(retrain_every=5)
    state = label_rows(session, truth, 12)  # never waits, trained or not
    assert state["labelled"] == 12 and not state["done"]


def test_a_failing_fit_is_shown_and_the_page_keeps_serving(open_session, truth, caplog):
    broken = EpinetClassifier(backbone="bert", pretrained="/no/such/model", max_length=16)
    session = open_session(estimator=broken, retrain_every=3)
    with caplog.at_level("WARNING", logger="skepinet.label"):
        label_rows(session, truth, 3)
        session.wait_until_trained(timeout=60)
    assert "background training failed" in caplog.text
    state = label_rows(session, truth, 2)
    assert "no such folder" in state["model"]["error"] and state["labelled"] == 5


def test_the_curve_scores_the_guesses_shown_before_each_answer(open_session, truth):
    session = open_session(retrain_every=5, budget=45, candidate_size=40)
    for _ in range(9):
        label_rows(session, truth, 5)
        session.wait_until_trained(timeout=120)
    answers = session.answers_in_order()
    guessed = [a for a in answers if a["predicted"] is not None]
    assert len(guessed) >= 10
    curve = session.state()["curve"]
    assert curve[-1][0] == len(answers)
    hits = [a["predicted"] == a["label"] for a in guessed]
    assert curve[-1][1] == pytest.approx(np.mean(hits[-10:]))


# -- export -------------------------------------------------------------------------


def test_export_writes_the_answers_in_order_and_a_safe_model(open_session, truth, table):
    session = open_session(retrain_every=1000)
    state = label_rows(session, truth, 6)
    session.undo()
    csv_path, model_path = session.export()
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    answers = session.answers_in_order()
    texts = pd.read_csv(table)["text"].tolist()
    assert [int(r["row"]) for r in rows] == [a["row"] for a in answers]
    assert len(rows) == 5 and [r["order"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(r["text"] == texts[int(r["row"])] and r["label"] == truth[int(r["row"])]
               for r in rows)
    model = load_estimator(model_path)
    assert list(model.classes_) == ["neg", "pos"]
    assert model.predict_proba_joint(texts[:3], n_index=4).shape == (4, 3, 2)
    assert state["labelled"] == 6


def test_an_active_learner_refuses_a_labelling_journal(open_session, truth, tmp_path):
    session = open_session(retrain_every=1000)
    label_rows(session, truth, 2)
    session.undo()
    learner = ActiveLearner(EpinetClassifier(random_state=0), random_state=0)
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="written by the labelling app"):
        learner.run(X, np.arange(20) % 2, budget=4, candidate_size=4, acquisition_size=2,
                    journal=tmp_path / "session" / "journal.jsonl", progress=False)
    assert json.loads((tmp_path / "session" / "session.json").read_text())["rows"] == N_ROWS


@pytest.mark.parametrize("name", ["epinet", "dropout", "ensemble", "baseline"])
def test_every_estimator_trains_in_the_background(open_session, truth, tiny_bert, name):
    estimator = make_text_estimator(name, labels=["neg", "pos"], pretrained=tiny_bert,
                                    max_length=16)
    session = open_session(estimator=estimator, retrain_every=4, candidate_size=8)
    label_rows(session, truth, 4)
    assert session.wait_until_trained(timeout=120)
    state = label_rows(session, truth, 1)  # the next row comes from the model's ranking
    assert state["model"]["version"] == 1 and state["model"]["error"] is None
    assert state["row"]["prediction"]["label"] in ("neg", "pos")


def test_sentence_pairs_are_shown_and_trained_on(tmp_path, tiny_bert, make_sentences):
    premises, y = make_sentences(12)
    hypotheses, _ = make_sentences(12, seed=1)
    path = tmp_path / "pairs.jsonl"
    pd.DataFrame({"premise": premises, "hypothesis": hypotheses}).to_json(
        path, orient="records", lines=True)
    estimator = make_text_estimator(labels=["yes", "no"], pretrained=tiny_bert, max_length=16)
    with LabellingSession(path, tmp_path / "out", text_column="premise", pair_column="hypothesis",
                          labels="yes,no", estimator=estimator, retrain_every=3,
                          candidate_size=5, n_index=4) as session:
        state = session.state()
        assert state["row"]["pair"] == hypotheses[state["row"]["id"]]
        for i in range(3):
            state = session.answer(state["row"]["id"], ["yes", "no"][i % 2])
        assert session.wait_until_trained(timeout=120)
        assert session.state()["model"]["version"] == 1
        csv_path, _ = session.export()
    exported = pd.read_csv(csv_path)
    assert list(exported.columns) == ["row", "text", "pair", "label", "time", "order"]
    assert exported["pair"].tolist() == [hypotheses[r] for r in exported["row"]]


def test_default_estimator_is_an_epinet_on_the_frozen_offline_minilm(table, tmp_path):
    with LabellingSession(table, tmp_path / "out", text_column="text", labels="a,b") as session:
        estimator = session.estimator
    assert isinstance(estimator, EpinetClassifier)
    assert estimator.backbone == "bert" and estimator.freeze_encoder
    assert estimator.pretrained is None and list(estimator.classes) == ["a", "b"]


def test_export_while_the_background_fit_saves_loses_neither_file(open_session, truth):
    session = open_session(retrain_every=2, candidate_size=4)
    for _ in range(8):
        label_rows(session, truth, 2)
        session.export()  # races the background fit's save of model.skepinet
    assert session.wait_until_trained(timeout=120)
    assert load_estimator(session.model_path).classes_.tolist() == ["neg", "pos"]


def test_a_session_without_background_training_never_trains(open_session, truth):
    session = open_session(retrain_every=1, background=False)
    state = label_rows(session, truth, 3)
    assert session.wait_until_trained(timeout=1)
    assert state["model"]["version"] == 0

"""skepinet label: the HTTP routes, the token and host checks, the command line."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skepinet import cli
from skepinet.label import create_app, export_command, is_loopback, main
from skepinet.labelling import LabellingSession, make_text_estimator

pytest.importorskip("transformers")
pytest.importorskip("starlette")
testclient = pytest.importorskip("starlette.testclient")


@pytest.fixture
def table(tmp_path, make_sentences):
    texts, y = make_sentences(30)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"text": texts, "truth": np.array(["neg", "pos"])[y]}).to_csv(path, index=False)
    return path


@pytest.fixture
def session(table, tmp_path, tiny_bert):
    session = LabellingSession(
        table, tmp_path / "out", text_column="text", labels="neg,pos", retrain_every=1000,
        estimator=make_text_estimator(labels=["neg", "pos"], pretrained=tiny_bert, max_length=16))
    yield session
    session.close()


def client_for(session, **kwargs):
    return testclient.TestClient(create_app(session, **kwargs), base_url="http://127.0.0.1")


def test_the_routes_answer_skip_and_undo(session):
    client = client_for(session)
    state = client.get("/api/state").json()
    first = state["row"]["id"]
    state = client.post("/api/answer", json={"row": first, "label": "pos"}).json()
    assert state["labelled"] == 1 and state["row"]["id"] != first
    second = state["row"]["id"]
    state = client.post("/api/skip", json={"row": second}).json()
    assert state["skipped"] == 1
    state = client.post("/api/undo", json={}).json()
    assert state["row"]["id"] == second and state["skipped"] == 0
    assert "--export" in state["export_command"]
    assert session.answers_in_order()[0]["label"] == "pos"


@pytest.mark.parametrize("body, status, message", [
    ({"row": "3", "label": "pos"}, 400, "row must be an integer"),
    ({"row": True, "label": "pos"}, 400, "row must be an integer"),
    ({"label": "pos"}, 400, "row must be an integer"),
    ([1, 2], 400, "JSON object"),
])
def test_malformed_requests_are_refused_without_a_journal_line(session, body, status, message):
    client = client_for(session)
    client.get("/api/state")
    before = Path(session.journal_path).read_text()
    response = client.post("/api/answer", json=body)
    assert response.status_code == status and message in response.json()["error"]
    assert Path(session.journal_path).read_text() == before


def test_an_unknown_label_and_a_stale_row_are_refused(session):
    client = client_for(session)
    row = client.get("/api/state").json()["row"]["id"]
    response = client.post("/api/answer", json={"row": row, "label": "maybe"})
    assert response.status_code == 400 and "not one of ['neg', 'pos']" in response.json()["error"]
    response = client.post("/api/answer", json={"row": (row + 1) % 30, "label": "pos"})
    assert response.status_code == 409 and "reload" in response.json()["error"]
    response = client.post("/api/answer", content=b"{not json", headers={
        "content-type": "application/json"})
    assert response.status_code == 400


def test_the_page_is_served_with_a_strict_content_security_policy(session):
    client = client_for(session)
    page = client.get("/")
    assert page.status_code == 200 and "static/label.js" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert client.get("/static/label.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/secret.py").status_code == 404
    assert client.get("/favicon.ico").status_code == 204


def test_a_loopback_server_refuses_other_host_names(session):
    client = testclient.TestClient(create_app(session), base_url="http://evil.example")
    assert client.get("/api/state").status_code == 400


def test_a_token_is_checked_on_every_request(session):
    client = testclient.TestClient(create_app(session, token="s3cret", allowed_hosts=["*"]),
                                   base_url="http://192.0.2.1")
    assert client.get("/").status_code == 403
    assert client.get("/api/state", headers={"X-Skepinet-Token": "wrong"}).status_code == 403
    assert client.get("/?token=s3cret").status_code == 200
    assert client.get("/api/state", headers={"X-Skepinet-Token": "s3cret"}).status_code == 200


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
    ("0.0.0.0", False), ("192.168.1.4", False), ("example.com", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_export_command_round_trips_through_the_shell(session):
    import shlex

    words = shlex.split(export_command(session))
    assert words[:3] == ["skepinet", "label", session.data] and words[-1] == "--export"


# -- the command line ---------------------------------------------------------------


@pytest.mark.parametrize("extra, message", [
    (["--text-column", "sentence"], "no column 'sentence'"),
    (["--labels", "pos"], "at least 2 labels"),
    (["--labels", "pos,neg,pos"], "more than once"),
    (["--host", "0.0.0.0"], "--allow-remote"),
])
def test_bad_input_fails_before_the_server_starts(table, tmp_path, capsys, extra, message):
    argv = [str(table), "--text-column", "text", "--labels", "neg,pos",
            "--out", str(tmp_path / "cli"), "--port", "0", *extra]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_an_empty_file_is_named(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SystemExit):
        main([str(empty), "--labels", "a,b", "--out", str(tmp_path / "o")])
    assert "is empty" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_busy_port_is_named(table, tmp_path, capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit):
            main([str(table), "--labels", "neg,pos", "--out", str(tmp_path / "o"),
                  "--port", str(port)])
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_export_from_the_command_line(table, tmp_path, session, capsys):
    state = session.state()
    for _ in range(3):
        state = session.answer(state["row"]["id"], "pos")
    session.close()
    code = main([str(table), "--text-column", "text", "--labels", "neg,pos",
                 "--out", session.out, "--model", session.estimator.pretrained,
                 "--max-length", "16", "--export"])
    assert code == 0
    assert "3 labels written" in capsys.readouterr().out
    with open(tmp_path / "out" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["row"]) for r in rows] == [a["row"] for a in session.answers_in_order()]
    assert (tmp_path / "out" / "model.skepinet").exists()


def test_the_skepinet_command_dispatches(capsys):
    assert cli.main(["--help"]) == 0
    assert "label" in capsys.readouterr().out
    assert cli.main(["nope"]) == 2
    with pytest.raises(SystemExit) as stop:
        cli.main(["label", "--help"])
    assert stop.value.code == 0
    assert "--text-column" in capsys.readouterr().out

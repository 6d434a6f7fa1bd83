"""Aggregation of benchmark runs: mean curves, the tuned baseline, the headline table."""

import math

import pytest

from skepinet.benchmarks import report
from skepinet.benchmarks.report import (
    beats_at_every_point,
    format_headline,
    headline,
    mean_curve,
    tuned_baseline,
)


def curve(values, labels=(10, 50, 100)):
    return [{"labels": n, "log_loss": v} for n, v in zip(labels, values)]


def test_mean_curve_averages_seeds_with_standard_errors():
    out = mean_curve([curve([0.7, 0.5, 0.3]), curve([0.5, 0.3, 0.1])], ["log_loss"])
    assert [r["labels"] for r in out] == [10, 50, 100]
    assert [r["log_loss"] for r in out] == pytest.approx([0.6, 0.4, 0.2])
    assert out[0]["log_loss_se"] == pytest.approx(0.1)  # std 0.1414 / sqrt(2)
    assert out[0]["n_seeds"] == 2


def test_tuned_baseline_picks_the_best_setting_on_the_seed_mean_per_label_count():
    def rec(n, lr, loss):
        return {"labels": n, "params": {"lr": lr}, "log_loss": loss}

    seed0 = [rec(10, 0.1, 0.6), rec(10, 0.01, 0.5), rec(100, 0.1, 0.2), rec(100, 0.01, 0.4)]
    seed1 = [rec(10, 0.1, 0.6), rec(10, 0.01, 0.9), rec(100, 0.1, 0.3), rec(100, 0.01, 0.0)]
    out = tuned_baseline([seed0, seed1], "log_loss", greater_is_better=False, metrics=["log_loss"])
    # at 10 labels lr=0.1 wins on the mean (0.6 < 0.7) though lr=0.01 won seed 0
    assert out[0]["params"] == {"lr": 0.1} and out[0]["log_loss"] == pytest.approx(0.6)
    assert out[1]["params"] == {"lr": 0.01} and out[1]["log_loss"] == pytest.approx(0.2)


def test_headline_ratios_and_geometric_mean():
    baselines = {"a": curve([0.6, 0.4, 0.3]), "b": curve([0.6, 0.4, 0.3])}
    curves = {
        "a": {"good": curve([0.5, 0.3, 0.2]), "bad": curve([0.7, 0.6, 0.5])},
        "b": {"good": curve([0.6, 0.4, 0.25]), "bad": curve([0.6, 0.35, 0.3])},
    }
    table = headline(curves, baselines, {"a": 100, "b": 100}, "log_loss", greater_is_better=False)
    assert table["tasks"]["a"]["target"] == 0.3
    assert table["tasks"]["a"]["ratios"] == {"good": 0.5, "bad": math.inf}
    assert table["tasks"]["b"]["ratios"] == {"good": 1.0, "bad": 1.0}
    assert table["geometric_mean"]["good"] == pytest.approx(math.sqrt(0.5))
    assert table["geometric_mean"]["bad"] == math.inf
    text = format_headline(table)
    assert "never" in text and "0.71" in text


def test_beats_at_every_point_lists_where_it_does_not():
    mine = curve([0.5, 0.3, 0.2])
    others = {"x": curve([0.4, 0.35, 0.25]), "y": curve([0.6, 0.3, 0.3])}
    assert beats_at_every_point(mine, others, "log_loss", greater_is_better=False) == {
        "x": [10], "y": [50]}
    assert beats_at_every_point(mine, others, "log_loss", greater_is_better=False,
                                from_labels=20) == {"x": [], "y": [50]}


def _runs(task, agent, per_seed, metric="log_loss"):
    return {(task, agent, seed): [{"labels": n, metric: v} for n, v in curve]
            for seed, curve in enumerate(per_seed)}


def test_paired_difference_pairs_seeds():
    results = {**_runs("t", "a", [[(10, 0.5)], [(10, 0.7)], [(10, 0.9)]]),
               **_runs("t", "b", [[(10, 0.6)], [(10, 0.8)]])}
    mean, se, n = report.paired_difference(results, "t", "a", "b", 10, "log_loss")
    # Seed 2 has no partner; both pairs differ by -0.1, so the standard error is 0.
    assert (mean, n) == (pytest.approx(-0.1), 2) and se == pytest.approx(0, abs=1e-12)
    assert report.paired_difference(results, "t", "a", "b", 99, "log_loss")[2] == 0


def test_max_rise_is_the_largest_loss_from_the_best_so_far():
    curve = [{"labels": n, "log_loss": v, "log_loss_se": 0.01}
             for n, v in [(10, 0.6), (20, 0.4), (30, 0.5), (40, 0.45), (50, 0.3)]]
    assert report.max_rise(curve, "log_loss", greater_is_better=False) == (
        pytest.approx(0.1), 30, 0.01)
    falling = [{"labels": n, "accuracy": v} for n, v in [(10, 0.6), (20, 0.7), (30, 0.8)]]
    assert report.max_rise(falling, "accuracy", greater_is_better=True)[:2] == (0.0, None)


def test_protocol_table_labels_to_match_and_paired_differences():
    # 'fast' reaches uniform's budget score at half the budget, in every seed.
    uniform = [[(50, 0.6), (100, 0.5)], [(50, 0.62), (100, 0.52)], [(50, 0.64), (100, 0.5)]]
    fast = [[(50, 0.5), (100, 0.4)], [(50, 0.5), (100, 0.43)], [(50, 0.5), (100, 0.41)]]
    results = {**_runs("t", "epinet:uniform", uniform), **_runs("t", "epinet:variance", fast)}
    curves = {"t": {a: report.mean_curve([results[("t", a, s)] for s in range(3)], ["log_loss"])
                    for a in ("epinet:uniform", "epinet:variance")}}
    baselines = {"t": [{"labels": 100, "log_loss": 0.45, "n_seeds": 3}]}
    table = report.protocol_table(results, curves, baselines, {"t": 100}, "log_loss",
                                  greater_is_better=False, references=("epinet:uniform",))
    row = table["t"]["agents"]["epinet:variance"]
    assert row["to_match_epinet:uniform"] == 0.5
    assert row["to_match_baseline"] == 1.0
    assert table["t"]["agents"]["epinet:uniform"]["to_match_baseline"] == float("inf")
    assert row["minus_epinet:uniform"] == pytest.approx(-0.28 / 3)
    assert row["minus_epinet:uniform_z"] > 2  # ahead: lower log-loss
    assert row["n_seeds"] == 3 and row["max_rise"] == 0.0
    text = report.format_protocol_table(table)
    assert "to match epinet:uniform" in text and "0.50" in text and "never" in text


def test_worst_paired_difference_finds_where_an_agent_trails_most():
    # Accuracy: 'late' trails uniform at 50 labels in every seed, then leads at 100.
    uniform = [[(50, 0.70), (100, 0.80)], [(50, 0.72), (100, 0.80)], [(50, 0.71), (100, 0.79)]]
    late = [[(50, 0.60), (100, 0.85)], [(50, 0.64), (100, 0.86)], [(50, 0.62), (100, 0.84)]]
    results = {**_runs("t", "epinet:uniform", uniform, "accuracy"),
               **_runs("t", "epinet:variance", late, "accuracy")}
    at, mean, se, z = report.worst_paired_difference(
        results, "t", "epinet:variance", "epinet:uniform", [50, 100], "accuracy",
        greater_is_better=True)
    assert at == 50 and mean == pytest.approx(-0.09) and se > 0 and z < -2
    # Log-loss: behind means higher, so the same numbers flip which count is worst.
    at, mean, _, z = report.worst_paired_difference(
        results, "t", "epinet:variance", "epinet:uniform", [50, 100], "accuracy",
        greater_is_better=False)
    assert at == 100 and mean == pytest.approx(0.0533, abs=1e-3) and z < 0
    # A count no seed reached is skipped; none at all gives no answer.
    assert report.worst_paired_difference(results, "t", "epinet:variance", "epinet:uniform",
                                          [70], "accuracy", greater_is_better=True)[0] is None


def test_protocol_table_reports_where_an_agent_trails_the_first_reference():
    uniform = [[(50, 0.70), (100, 0.80)], [(50, 0.72), (100, 0.80)], [(50, 0.71), (100, 0.79)]]
    late = [[(50, 0.60), (100, 0.85)], [(50, 0.64), (100, 0.86)], [(50, 0.62), (100, 0.84)]]
    results = {**_runs("t", "epinet:uniform", uniform, "accuracy"),
               **_runs("t", "epinet:variance", late, "accuracy")}
    curves = {"t": {a: report.mean_curve([results[("t", a, s)] for s in range(3)], ["accuracy"])
                    for a in ("epinet:uniform", "epinet:variance")}}
    table = report.protocol_table(results, curves, {}, {"t": 100}, "accuracy",
                                  greater_is_better=True, references=("epinet:uniform",))
    row = table["t"]["agents"]["epinet:variance"]
    assert row["minus_epinet:uniform_z"] > 0  # ahead at the budget ...
    assert row["worst_minus_epinet:uniform_at"] == 50  # ... but not at every count
    assert row["worst_minus_epinet:uniform"] == pytest.approx(-0.09)
    assert "worst_minus_epinet:uniform" not in table["t"]["agents"]["epinet:uniform"]
    assert "-0.0900 ±" in report.format_protocol_table(table)

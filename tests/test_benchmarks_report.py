"""Aggregation of benchmark runs: mean curves, the tuned baseline, the headline table."""

import math

import pytest

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

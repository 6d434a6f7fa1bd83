"""Saving curves: labels to match a reference at every one of its label counts."""

import math

import pytest

from skepinet.benchmarks import report, savings
from skepinet.benchmarks.report import headline


def curve(values, labels=(10, 50, 100)):
    return [{"labels": n, "log_loss": v} for n, v in zip(labels, values)]


def test_saving_curve_reads_labels_to_match_at_every_reference_count():
    uniform = curve([0.5, 0.4, 0.3], labels=(100, 200, 400))
    agent = curve([0.45, 0.3, 0.25], labels=(100, 200, 400))
    points = savings.saving_curve(agent, uniform, "log_loss", greater_is_better=False)
    assert points == [{"labels": 100, "ratio": 1.0}, {"labels": 200, "ratio": 1.0},
                      {"labels": 400, "ratio": 0.5}]  # uniform's 0.3 reached at 200 labels
    behind = savings.saving_curve(uniform, agent, "log_loss", greater_is_better=False)
    assert [p["ratio"] for p in behind] == [2.0, 2.0, math.inf]  # needs more, then never
    accuracy = [{"labels": n, "accuracy": 1 - r["log_loss"]} for n, r in zip((1, 2, 4), agent)]
    reference = [{"labels": n, "accuracy": 1 - r["log_loss"]} for n, r in zip((1, 2, 4), uniform)]
    assert [p["ratio"] for p in savings.saving_curve(accuracy, reference, "accuracy",
                                                    greater_is_better=True)] == [1.0, 1.0, 0.5]


def test_savings_table_compares_every_other_agent_and_skips_tasks_without_the_reference():
    curves = {"a": {"epinet:uniform": curve([0.5, 0.4, 0.3]),
                    "epinet:variance": curve([0.5, 0.3, 0.2])},
              "b": {"epinet:variance": curve([0.5, 0.3, 0.2])}}
    table = savings.savings_table(curves, "log_loss", greater_is_better=False)
    assert list(table) == ["a"] and table["a"]["reference"] == "epinet:uniform"
    assert list(table["a"]["agents"]) == ["epinet:variance"]
    assert [p["ratio"] for p in table["a"]["agents"]["epinet:variance"]] == [1.0, 1.0, 0.5]
    text = savings.format_savings(table)
    assert text == ("a: epinet:variance's labels to match epinet:uniform, as a fraction of its "
                    "labels, at 10: 1.00, 50: 1.00, 100: 0.50")  # nearest to 25%, 50%, 100%
    assert savings.format_savings({}) == ""


def test_savings_are_written_as_csv_and_plotted(tmp_path):
    curves = {"a": {"epinet:uniform": curve([0.5, 0.4, 0.3]),
                    "epinet:variance": curve([0.6, 0.5, 0.45])}}  # never matches at 100
    summary = {"headline": headline(curves, {"a": [{"labels": 100, "log_loss": 0.3}]},
                                    {"a": 100}, "log_loss", greater_is_better=False),
               "curves": curves, "baselines": {"a": []},
               "savings": savings.savings_table(curves, "log_loss", greater_is_better=False)}
    report.write_summary(tmp_path, summary)
    rows = (tmp_path / "savings.csv").read_text().splitlines()
    assert rows[0] == "task,agent,reference,labels,ratio"
    assert rows[1:] == ["a,epinet:variance,epinet:uniform,10,5.0",
                        "a,epinet:variance,epinet:uniform,50,inf",
                        "a,epinet:variance,epinet:uniform,100,inf"]
    pytest.importorskip("matplotlib")
    from skepinet.benchmarks.plots import plot_savings
    path = plot_savings(tmp_path / "s.png", "t", summary["savings"]["a"])
    assert path.stat().st_size > 0

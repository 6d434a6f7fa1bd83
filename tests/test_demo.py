"""The README's main job: the demo runs end to end on a small setting."""

import pytest

from skepinet import demo


def test_demo_runs_and_reports_uncertainty_and_learning_curves(tmp_path, capsys):
    png, uncertainty_png = tmp_path / "curves.png", tmp_path / "map.png"
    result = demo.main(["--seeds", "1", "--pool", "200", "--budget", "40", "--n-jobs", "1",
                        "--plot", str(png), "--uncertainty-map", str(uncertainty_png)])
    variances = [row["variance"] for row in result["uncertainty"]]
    assert variances[-1] > 3 * variances[0]  # far from the data > near it

    curves = result["curves"]
    assert set(curves) == {"epinet:variance", "epinet:uniform", "epinet:entropy"}
    for name in demo.AGENTS:
        (history,) = curves[name]
        assert [r["labels"] for r in history] == [10, 20, 30, 40]
        assert all(0 <= r["accuracy"] <= 1 for r in history)
    assert png.stat().st_size > 10_000 and uncertainty_png.stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "Epistemic uncertainty by distance" in out and "epinet:variance" in out
    assert "epinet:variance minus uniform at 40 labels" in out


def test_paired_difference_and_labels_to_reach():
    def history(values):
        return [{"labels": n, "log_loss": v} for n, v in zip((10, 20, 30), values)]

    curves = {"a": [history([0.6, 0.4, 0.3]), history([0.7, 0.5, 0.3])],
              "b": [history([0.6, 0.5, 0.4]), history([0.7, 0.6, 0.5])]}
    mean, se = demo.paired_difference(curves, "a", "b", 30)
    assert mean == pytest.approx(-0.15) and se == pytest.approx(0.05)
    assert demo.labels_to_reach(curves["a"], 0.45) == 20
    assert demo.labels_to_reach(curves["b"], 0.3) is None

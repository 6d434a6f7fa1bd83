"""The README's main job: the demo runs end to end on a small setting."""

from skepinet import demo


def test_demo_runs_and_reports_uncertainty_and_learning_curves(tmp_path, capsys):
    png, uncertainty_png = tmp_path / "curves.png", tmp_path / "map.png"
    result = demo.main(["--seeds", "1", "--pool", "200", "--budget", "40", "--n-jobs", "1",
                        "--plot", str(png), "--uncertainty-map", str(uncertainty_png)])
    variances = [row["variance"] for row in result["uncertainty"]]
    assert variances[-1] > 3 * variances[0]  # far from the data > near it

    curves = result["curves"]
    assert set(curves) == {"epinet:variance", "epinet:uniform", "epinet:entropy", "full pool"}
    for name in demo.AGENTS:
        (history,) = curves[name]
        assert [r["labels"] for r in history] == [10, 20, 30, 40]
        assert all(0 <= r["accuracy"] <= 1 for r in history)
    assert png.stat().st_size > 10_000 and uncertainty_png.stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "Epistemic uncertainty by distance" in out and "epinet:variance" in out

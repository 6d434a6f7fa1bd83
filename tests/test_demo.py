"""The README's main job: the demo runs and shows uncertainty growing with distance."""

from skepinet import demo


def test_demo_shows_uncertainty_growing_away_from_the_data(tmp_path, capsys):
    png = tmp_path / "map.png"
    rows = demo.main(["--epochs", "100", "--plot", str(png)])
    variances = [row["variance"] for row in rows]
    assert variances[-1] > 3 * variances[0]
    assert png.stat().st_size > 10_000
    assert "Epistemic uncertainty by distance" in capsys.readouterr().out

"""``skepinet-bench enn``: the Neural Testbed's ENN-quality sweep and the far/near ratio."""

import json

import numpy as np
import pytest

from skepinet import EnsembleClassifier, EpinetClassifier
from skepinet.benchmarks import enn
from skepinet.benchmarks._cli import run
from skepinet.datasets import make_testbed_classification


def test_schedule_gives_the_step_budget_in_whole_epochs():
    assert enn.training_schedule(1000, 1000, 100) == {"batch_size": 100, "max_epochs": 100,
                                                      "n_steps": 1000}
    assert enn.training_schedule(10, 1000, 100) == {"batch_size": 10, "max_epochs": 1000,
                                                    "n_steps": 1000}
    assert enn.training_schedule(250, 1000, 100)["n_steps"] == 1002  # 3 batches an epoch


def test_quick_sweep_writes_tables_and_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "enn"
    summary = run(["enn", "--quick", "--out", str(out), "--no-progress", "--n-jobs", "2"])
    printed = capsys.readouterr().out
    assert "far/near var" in printed and "D2-T0.1-n20" in printed
    for name in ["summary.json", "table.csv", "sweep.csv", "enn_quality.png"]:
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "summary.json").read_text())
    assert {r["agent"] for r in saved["table"]} == set(enn.AGENTS)
    mlp = next(r for r in saved["table"] if r["agent"] == "mlp")
    assert mlp["joint_kl_norm"] == pytest.approx(1.0)
    for row in saved["table"]:
        assert row["marginal_kl"] >= 0 and row["training_flops"] > 0
    sweep = saved["sweep"]
    assert "variance_ratio" not in sweep["mlp"]  # no epistemic uncertainty to compare
    assert "prior_variance_ratio_minus_ensemble" in sweep["epinet"]
    assert "joint_kl_norm_minus_ensemble" not in sweep["ensemble"]
    assert all(sweep[a]["variance_ratio"] > 0 for a in ["epinet", "dropout", "ensemble"])
    assert sweep["ensemble"]["flops_vs_ensemble"] == pytest.approx(1.0)
    assert sweep["epinet"]["flops_vs_ensemble"] < 1 / 3

    def fail(*args, **kwargs):
        raise AssertionError("a saved run was recomputed")

    monkeypatch.setattr(enn, "_quality_unit", fail)
    monkeypatch.setattr(enn, "_far_near_unit", fail)
    again = run(["enn", "--quick", "--out", str(out), "--no-progress"])
    assert json.dumps(again["table"]) == json.dumps(summary["table"])  # NaN-safe


def test_variants_and_errors(tmp_path, capsys):
    out = tmp_path / "v"
    summary = run(["enn", "--quick", "--out", str(out), "--no-progress", "--agents",
                   "mlp,epinet-s2", "--variants", '{"epinet-s2": ["epinet", {"prior_scale": 2}]}'])
    assert set(summary["sweep"]) == {"mlp", "epinet-s2"}
    with pytest.raises(SystemExit):
        run(["enn", "--quick", "--out", str(out), "--agents", "epinet-s3"])
    assert "unknown agents ['epinet-s3']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["enn", "--quick", "--out", str(out), "--variants", '{"x": ["epinet"]}'])
    assert "argument --variants: must map names" in capsys.readouterr().err


def test_training_flops_count_the_work_and_leave_the_model_alone():
    X, y = make_testbed_classification(200, random_state=0)
    epinet = EpinetClassifier(max_epochs=1, batch_size=100, random_state=0).fit(X, y)
    ensemble = EnsembleClassifier(max_epochs=1, batch_size=100, random_state=0).fit(X, y)
    before = epinet.predict_proba_joint(X[:5], 3)
    assert 0 < enn.training_flops(epinet, X, y) < enn.training_flops(ensemble, X, y) / 3
    np.testing.assert_array_equal(epinet.predict_proba_joint(X[:5], 3), before)


def test_the_default_epinet_is_more_uncertain_away_from_its_data_than_the_0x_design():
    """The product's promise, on the far/near experiment (fixed seeds, small)."""
    ratios = {}
    for agent in ["epinet", "epinet-v0"]:
        ratios[agent] = [enn._far_near_unit(agent, seed, 300, 500, 100, {}, {"n_steps": 400},
                                            None)[0]["variance_ratio"] for seed in (1, 2)]
    assert min(ratios["epinet"]) > 1.5
    assert all(new > old for new, old in zip(ratios["epinet"], ratios["epinet-v0"]))


def test_saved_runs_are_keyed_on_every_estimator_setting_defaults_included():
    from skepinet.benchmarks._sweep import estimator_settings, settings_key
    from skepinet.benchmarks.testbed import make_agent_estimator

    def key(**params):
        return settings_key(estimator_settings(make_agent_estimator("epinet", 0, params)))

    # Callbacks built per call (no stable repr of their own) still give one key...
    assert key(prior_precision=10.0, gradient_clip=1.0) == key(prior_precision=10.0,
                                                                gradient_clip=1.0)
    # ...and a different default, here written out, is a different run.
    assert key(prior_scale=2.0) != key()
    assert key(gradient_clip=1.0) != key(gradient_clip=0.5)

"""Each benchmark states its defaults once, in its ``<Name>Defaults`` dataclass.

The help of every option shows the dataclass's default (and the ``--quick``
one), the parsed options are the dataclass's (or ``quick()``'s), a flag
given overrides both, and the subcommand passes those settings on.
"""

import dataclasses

import pytest

from skepinet.benchmarks import (
    _cli,
    checkpoint,
    cost,
    enn,
    fit,
    glue,
    joint_cost,
    label,
    scoring,
    testbed,
)
from skepinet.benchmarks.common import options_from_args

# subcommand -> its Defaults, and one flag with a value given and the field it sets
CONVERTED = {
    "testbed": (testbed.TestbedDefaults, ["--n-test", "77"], "n_test", 77),
    "glue": (glue.GlueDefaults, ["--seeds", "4-5"], "seeds", [4, 5]),
    "enn": (enn.EnnDefaults, ["--n-index", "9"], "n_index", 9),
    "cost": (cost.AcquisitionCostDefaults, ["--n-index", "5,6"], "n_index", [5, 6]),
    "fit": (fit.FitDefaults, ["--epochs", "3"], "epochs", 3),
    "scoring": (scoring.ScoringDefaults, ["--no-dask"], "no_dask", True),
    "checkpoint": (checkpoint.CheckpointDefaults, ["--repeats", "2"], "repeats", 2),
    "label": (label.LabelDefaults, ["--rows", "30"], "rows", 30),
}


def _subparser(command):
    parser = _cli.build_parser()
    return parser, parser._subparsers._group_actions[0].choices[command]


def _helps(command):
    """``{dest: help}`` of the subcommand's options."""
    _, sub = _subparser(command)
    return {a.dest: a.help for a in sub._actions if a.option_strings and a.dest != "help"}


def _option_fields(defaults):
    return [f for f in dataclasses.fields(defaults) if "help" in f.metadata]


@pytest.mark.parametrize("command", CONVERTED)
def test_help_shows_every_default_once(command):
    defaults = CONVERTED[command][0]
    helps = _helps(command)
    full, quick = defaults(), defaults.quick()
    for field in _option_fields(defaults):
        text = helps[field.name]
        assert text.startswith(field.metadata["help"])
        if isinstance(getattr(full, field.name), bool):  # a flag: off unless given
            continue
        assert text.count("(default ") == 1, text
        assert ("; --quick " in text) == (getattr(quick, field.name) != getattr(full, field.name))
    # Every option of the subcommand beyond the shared ones comes from a dataclass.
    shared = {"out", "quick", "n_jobs", "backend", "scheduler", "no_progress", "rerun_stale",
              "measure"}
    fields = {f.name for f in _option_fields(defaults)}
    if command == "cost":
        fields |= {f.name for f in _option_fields(joint_cost.JointCostDefaults)}
    assert set(helps) - shared == fields


@pytest.mark.parametrize("command, flag, expected", [
    ("testbed", "seeds", "(default 0-9; --quick 0,1)"),
    ("testbed", "n_pool", "(default 10000 for pool, 20 x D inputs for requery; --quick 150)"),
    ("testbed", "budget", "(default 1000 for pool, 2000 for requery; --quick 60)"),
    ("testbed", "fractions", "(default 0.5,1)"),
    ("testbed", "agents", "(default all: epinet:variance,epinet:bald,"),
    ("testbed", "grid", "(default skepinet.benchmarks.testbed.BASELINE_GRID; --quick "
                        '{"prior_precision": [3.0], "max_epochs": [3, 10], "batch_size": [32]})'),
    ("glue", "max_length", "(default 128 frozen, 64 finetune)"),
    ("glue", "mode", "(default frozen)"),
    ("glue", "n_pool", "0 = all (default 2000; --quick 60)"),
    ("enn", "n_index", "(default 1000; --quick 20)"),
    ("enn", "agents", "(default all: mlp,epinet,dropout,ensemble,epinet-v0)"),
    ("cost", "n_candidates", "(default 100000 for mlp, 128 for bert)"),
    ("cost", "n_index", "(--measure joint: 1,10,100) (default 10,100; --quick 2)"),
    ("cost", "peer", "(default auto)"),
    ("fit", "epochs", "(default 30; --quick 2)"),
    ("scoring", "n_pool", "(default 1000000; --quick 20000)"),
    ("checkpoint", "folder", "(default a temporary folder)"),
    ("label", "answers", "(default 100; --quick 15)"),
])
def test_help_states_the_defaults_as_before(command, flag, expected):
    assert expected in _helps(command)[flag]


@pytest.mark.parametrize("command", CONVERTED)
def test_options_are_the_defaults_the_quick_ones_or_the_flags_given(command):
    defaults, flag, name, value = CONVERTED[command]
    parser, _ = _subparser(command)

    def options(*argv):
        return options_from_args(defaults, parser.parse_args([command, *argv]))

    assert options() == defaults()
    assert options("--quick") == defaults.quick()
    assert defaults.quick() != defaults()  # --quick changes something
    for argv in ([], ["--quick"]):
        given = options(*argv, *flag)
        assert getattr(given, name) == value != getattr(options(*argv), name)
        base = defaults.quick() if argv else defaults()
        assert dataclasses.replace(given, **{name: getattr(base, name)}) == base  # nothing else


def test_dict_options_add_to_quicks_and_the_grid_replaces_it():
    parser, _ = _subparser("testbed")
    args = parser.parse_args(["testbed", "--quick", "--loop-params", '{"recipe": "online"}',
                              "--agent-params", '{"lr": 0.01}', "--grid", '{"lr": [1]}'])
    options = options_from_args(testbed.TestbedDefaults, args)
    assert options.loop_params == {"acquisition_size": 20, "candidate_size": 60,
                                   "recipe": "online"}
    assert options.agent_params == {"lr": 0.01}
    assert options.grid == {"lr": [1]}
    # The defaults' dicts are not shared between instances, nor changed by a merge.
    assert testbed.TestbedDefaults.quick().loop_params == {"acquisition_size": 20,
                                                           "candidate_size": 60}
    assert testbed.TestbedDefaults().agent_params == {}


def test_signatures_take_their_defaults_from_the_dataclasses():
    import inspect

    def default(func, name):
        return inspect.signature(func).parameters[name].default

    assert default(testbed.run_testbed, "seeds") == testbed.TestbedDefaults().seeds
    assert default(glue.run_glue, "n_pool") == glue.GlueDefaults().n_pool
    assert default(enn.run_enn, "n_eval") == enn.EnnDefaults().n_eval
    assert default(fit.fit_overhead, "epochs") == fit.FitDefaults().epochs
    assert default(scoring.pool_scoring, "chunk_size") == scoring.ScoringDefaults().chunk_size
    assert default(checkpoint.checkpoint_cost, "n_train") == checkpoint.CheckpointDefaults().n_train
    assert default(label.label_latency, "n_answers") == label.LabelDefaults().answers
    assert default(cost.acquisition_cost, "n_fit") == cost.AcquisitionCostDefaults().n_fit


def _calls(monkeypatch, module, name):
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        return {"rows": [], "settings": {}, "code_versions": {}}

    monkeypatch.setattr(module, name, record)
    for attr in dir(module):
        if attr.startswith("format_"):
            monkeypatch.setattr(module, attr, lambda *a, **k: "")
    monkeypatch.setattr(_cli, "write_result", lambda *a, **k: None)
    return calls


def test_sweeps_get_the_settings_of_their_command_line(monkeypatch, tmp_path):
    calls = _calls(monkeypatch, testbed, "run_testbed")
    _cli.run(["testbed", "--quick", "--protocol", "requery", "--seeds", "3", "--out",
              str(tmp_path), "--n-jobs", "2", "--no-progress"])
    (out,), kwargs = calls[0]
    assert out == tmp_path
    assert kwargs == dict(
        protocols=["requery"], problems=("standard",), seeds=[3], temperatures=(0.03, 0.1),
        agents=None, n_pool=150, budget=60, n_test=400, input_dim=10, n_points=3,
        fractions=(0.5, 1.0), agent_params={},
        loop_params={"acquisition_size": 20, "candidate_size": 60},
        grid={"prior_precision": [3.0], "max_epochs": [3, 10], "batch_size": [32]},
        n_index=testbed.TestbedDefaults().n_index, final_fit=(), n_jobs=2, backend=None,
        scheduler=None, progress=False, rerun_stale=False)

    calls = _calls(monkeypatch, glue, "run_glue")
    _cli.run(["glue", "--mode", "finetune", "--n-pool", "0", "--data-dir", str(tmp_path),
              "--agents", ""])
    (out,), kwargs = calls[0]
    assert str(out) == "benchmark_results/glue-finetune"
    assert kwargs["n_pool"] is None and kwargs["agents"] == [] and kwargs["max_length"] is None
    assert kwargs["data_dir"] == tmp_path and kwargs["tasks"] == ("sst2", "rte")

    calls = _calls(monkeypatch, enn, "run_enn")
    _cli.run(["enn", "--quick", "--variants", '{"e2": ["epinet", {"prior_scale": 2}]}'])
    (out,), kwargs = calls[0]
    assert str(out) == "benchmark_results/enn-quick"
    assert kwargs["variants"] == {"e2": ("epinet", {"prior_scale": 2})}
    assert kwargs["schedule"] == dict(enn.SCHEDULE, n_steps=20) and kwargs["n_eval"] == 100


def test_timing_benchmarks_get_the_settings_of_their_command_line(monkeypatch, tmp_path):
    monkeypatch.setenv("GLUE_DIR", str(tmp_path))
    calls = _calls(monkeypatch, cost, "acquisition_cost")
    _cli.run(["cost", "--quick", "--peer", "loop"])
    (mlp, bert) = calls
    assert mlp == (("mlp",), dict(n_candidates=2000, n_index=(2,), n_instances=4,
                                  peer_n_index=(2,), repeats=1, data_dir=None, pretrained=None,
                                  n_fit=8, use_baal=False))
    assert bert[0] == ("bert",) and bert[1]["n_candidates"] == 16
    assert bert[1]["data_dir"] == tmp_path  # $GLUE_DIR, for bert only
    calls.clear()
    _cli.run(["cost", "--backbones", "mlp", "--n-candidates", "7"])
    assert calls == [(("mlp",), dict(n_candidates=7, n_index=(10, 100), n_instances=10,
                                     peer_n_index=None, repeats=3, data_dir=None,
                                     pretrained=None, n_fit=64, use_baal=None))]

    calls = _calls(monkeypatch, fit, "fit_overhead")
    _cli.run(["fit", "--quick", "--batch-size", "5"])
    assert calls == [((), dict(n_rows=200, epochs=2, batch_size=5, repeats=1))]

    calls = _calls(monkeypatch, scoring, "pool_scoring")
    _cli.run(["scoring", "--no-dask"])
    _cli.run(["scoring", "--quick"])
    assert calls == [
        ((), dict(n_pool=1_000_000, n_index=scoring.ScoringDefaults().n_index, repeats=2,
                  n_train=1000, chunk_size=8192, dask=False)),
        ((), dict(n_pool=20_000, n_index=scoring.ScoringDefaults().n_index, repeats=1,
                  n_train=200, chunk_size=2048, dask=None))]

    calls = _calls(monkeypatch, checkpoint, "checkpoint_cost")
    _cli.run(["checkpoint", "--quick", "--no-text"])
    assert calls == [((), dict(n_labels=200, pretrained=None, repeats=1, folder=None,
                               n_train=8, text=False))]

    calls = _calls(monkeypatch, label, "label_latency")
    _cli.run(["label", "--quick", "--candidates", "8"])
    assert calls == [((tmp_path,), dict(n_answers=15, n_rows=200, retrain_every=10,
                                        candidates=8))]

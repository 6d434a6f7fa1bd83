"""The ``skepinet-bench`` command line (private; see :mod:`skepinet.benchmarks`)."""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from . import (
    checkpoint,
    cost,
    enn,
    fit,
    glue,
    joint_cost,
    label,
    scoring,
    sst2_accuracy,
    strategy_cost,
    testbed,
    text_cost,
)
from ._sweep import UNRECORDED
from .common import (
    add_options,
    options_from_args,
    resolve_glue_dir,
    torch_threads,
    write_result,
)

DEFAULT_OUT = Path("benchmark_results")
#: sweep subcommands (resumable, parallel): name -> (help, settings dataclass)
SWEEP_BENCHMARKS = {
    "testbed": ("synthetic random-MLP testbed (paper section 3)", testbed.TestbedDefaults),
    "glue": ("GLUE tasks with a MiniLM encoder (paper section 4)", glue.GlueDefaults),
    "enn": ("ENN quality: KL to the true model, far/near uncertainty", enn.EnnDefaults),
}
#: timing subcommands without options of their own: name -> (help, settings dataclass)
TIMING_BENCHMARKS = {
    "fit": ("training overhead: fit vs a plain PyTorch loop", fit.FitDefaults),
    "scoring": ("pool scoring on 1 and 2 workers and a Dask cluster", scoring.ScoringDefaults),
    "checkpoint": ("checkpoint size, save and load time", checkpoint.CheckpointDefaults),
    "label": ("labelling page: answer -> next row shown, scripted browser",
              label.LabelDefaults),
    "strategies": ("pool scoring time of every query strategy",
                   strategy_cost.StrategyCostDefaults),
    "text-cost": ("fit / predict_proba / joint cost of each head on MiniLM",
                  text_cost.TextCostDefaults),
    "sst2-accuracy": ("SST-2 dev accuracy of each estimator on MiniLM",
                      sst2_accuracy.Sst2AccuracyDefaults),
}


def _common(parser):
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results folder (default {DEFAULT_OUT}/<benchmark>)")
    parser.add_argument("--quick", action="store_true",
                        help="CI-sized run: checks the pipeline, not the numbers")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers (default 1)")
    parser.add_argument("--backend", default=None,
                        help="joblib backend, e.g. loky, threading, dask, ray (default joblib's)")
    parser.add_argument("--scheduler", default=None,
                        help="with --backend dask or ray: the cluster's address, e.g. "
                             "tcp://10.0.0.5:8786 or ray://10.0.0.5:10001 (default: a local "
                             "cluster of --n-jobs worker processes)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--rerun-stale", action="store_true",
                        help="recompute the stored runs that other code computed (another "
                             "skepinet version or commit, or torch version), so that every run "
                             "of the table comes from the code at hand")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skepinet-bench",
        description="Reproduce the paper's benchmarks: label efficiency (testbed, GLUE) and cost.",
    )
    sub = parser.add_subparsers(dest="benchmark", required=True)

    for name, (help, defaults) in SWEEP_BENCHMARKS.items():
        p = sub.add_parser(name, help=help)
        _common(p)
        add_options(p, defaults)

    p = _timing_parser(sub, "cost", "time of one acquisition per agent vs a forward pass "
                       "(--measure joint: predict_proba_joint vs predict_proba)")
    p.add_argument("--measure", choices=["acquisition", "joint"], default="acquisition",
                   help="acquisition: one query step per agent (cost_<backbone>.json); joint: "
                        "predict_proba_joint of every estimator on an MLP (cost_mlp.json, "
                        "options --n-rows to --device) (default %(default)s)")
    add_options(p, cost.AcquisitionCostDefaults)
    add_options(p, joint_cost.JointCostDefaults, skip=("n_index", "repeats"))

    for name, (help, defaults) in TIMING_BENCHMARKS.items():
        add_options(_timing_parser(sub, name, help), defaults)
    return parser


def _timing_parser(sub, name, help):
    """A subcommand with the ``--out`` and ``--quick`` every timing benchmark takes."""
    p = sub.add_parser(name, help=help)
    p.add_argument("--out", type=Path, default=None,
                   help=f"results folder (default {DEFAULT_OUT}/{name})")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the pipeline")
    return p


def _out(args, name):
    """``--out``, else ``benchmark_results/<name>`` (``<name>-quick`` with ``--quick``)."""
    return args.out or DEFAULT_OUT / (f"{name}-quick" if args.quick else name)


def _run_sweep(module, run_sweep, out, settings, args):
    """Run a sweep with the execution flags of ``_common``; print its summary and folder."""
    summary = run_sweep(out, **settings, n_jobs=args.n_jobs, backend=args.backend,
                        scheduler=args.scheduler, progress=not args.no_progress,
                        rerun_stale=args.rerun_stale)
    print(module.format_summary(summary))
    print(format_code_versions(summary["code_versions"]))
    print(f"results in {out}")
    return summary


def format_code_versions(versions):
    """One line naming the code that computed a sweep's runs; a warning when it is mixed."""
    def cost(entry):
        return "" if entry["seconds"] is None else f", {entry['seconds']:.0f} s of compute"
    if not versions:
        return "no runs"
    if len(versions) == 1:
        version, entry = next(iter(versions.items()))
        if version == UNRECORDED:
            return (f"the code that computed these {entry['units']} runs was not recorded "
                    "(they predate code stamps); --rerun-stale recomputes them")
        return f"every run ({entry['units']}{cost(entry)}) computed by {version}"
    counts = "; ".join(f"{e['units']} by {v}{cost(e)}" for v, e in versions.items())
    return (f"warning: these runs come from {len(versions)} code versions ({counts}); "
            "--rerun-stale recomputes the others with the code at hand")


def run_testbed_command(args):
    settings = dataclasses.asdict(options_from_args(testbed.TestbedDefaults, args))
    settings["protocols"], settings["problems"] = settings.pop("protocol"), settings.pop("problem")
    return _run_sweep(testbed, testbed.run_testbed, _out(args, "testbed"), settings, args)


def run_glue_command(args):
    options = options_from_args(glue.GlueDefaults, args)
    # --n-pool 0 is the whole training split.
    settings = dict(dataclasses.asdict(options), data_dir=resolve_glue_dir(options.data_dir),
                    n_pool=options.n_pool or None)
    _quiet_transformers()
    return _run_sweep(glue, glue.run_glue, _out(args, f"glue-{options.mode}"), settings, args)


def run_enn_command(args):
    settings = dataclasses.asdict(options_from_args(enn.EnnDefaults, args))
    return _run_sweep(enn, enn.run_enn, _out(args, "enn"), settings, args)


def _write(args, name, result, table, filename):
    """Print ``table``, write ``result`` to ``<--out>/<filename>`` and return it."""
    write_result(result, table, Path(_out(args, name)) / filename)
    return result


def run_cost_command(args):
    if args.measure == "joint":
        # --n-index and --repeats are the cost subcommand's own, read here as the joint settings.
        result = joint_cost.joint_cost(options_from_args(joint_cost.JointCostDefaults, args))
        return {"joint": _write(args, "cost", result, joint_cost.format_joint_cost(result),
                                "cost_mlp.json")}
    options = options_from_args(cost.AcquisitionCostDefaults, args)
    results = {}
    for backbone in options.backbones:
        result = cost.acquisition_cost(backbone, **options.arguments(backbone))
        results[backbone] = _write(args, "cost", result, cost.format_cost(result),
                                   f"cost_{backbone}.json")
    return results


def run_fit_command(args):
    result = fit.fit_overhead(**dataclasses.asdict(options_from_args(fit.FitDefaults, args)))
    return _write(args, "fit", result, fit.format_fit_overhead(result), "fit.json")


def run_scoring_command(args):
    settings = dataclasses.asdict(options_from_args(scoring.ScoringDefaults, args))
    dask = False if settings.pop("no_dask") else None  # None: when dask.distributed is there
    result = scoring.pool_scoring(**settings, dask=dask)
    return _write(args, "scoring", result, scoring.format_pool_scoring(result), "scoring.json")


def run_checkpoint_command(args):
    settings = dataclasses.asdict(options_from_args(checkpoint.CheckpointDefaults, args))
    text = not settings.pop("no_text")
    result = checkpoint.checkpoint_cost(**settings, text=text)
    return _write(args, "checkpoint", result, checkpoint.format_checkpoint_cost(result),
                  "checkpoint.json")


def run_label_command(args):
    options = options_from_args(label.LabelDefaults, args)
    result = label.label_latency(
        resolve_glue_dir(options.data_dir), n_answers=options.answers, n_rows=options.rows,
        retrain_every=options.retrain_every, candidates=options.candidates)
    return _write(args, "label", result, label.format_label_latency(result), "label.json")


def run_strategies_command(args):
    result = strategy_cost.strategy_cost(options_from_args(strategy_cost.StrategyCostDefaults,
                                                           args))
    return _write(args, "strategies", result, strategy_cost.format_strategy_cost(result),
                  "strategies_mlp.json")


def _quiet_transformers():
    """Hide transformers' progress bars: they would interleave with the benchmark's lines.

    Also through the environment, which a sweep's worker processes inherit.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import transformers
        transformers.logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass


def _run_minilm_benchmark(args, name, defaults, measure, format, filename):
    """A MiniLM benchmark: quiet transformers, its thread count, then print and write."""
    options = options_from_args(defaults, args)
    _quiet_transformers()
    with torch_threads(options.threads):
        result = measure(options)
    return _write(args, name, result, format(result), filename)


def run_text_cost_command(args):
    return _run_minilm_benchmark(args, "text-cost", text_cost.TextCostDefaults,
                                 text_cost.text_cost, text_cost.format_text_cost,
                                 "text_cost_minilm.json")


def run_sst2_accuracy_command(args):
    return _run_minilm_benchmark(args, "sst2-accuracy", sst2_accuracy.Sst2AccuracyDefaults,
                                 sst2_accuracy.sst2_accuracy, sst2_accuracy.format_sst2_accuracy,
                                 "sst2_accuracy_minilm.json")


COMMANDS = {"testbed": run_testbed_command, "glue": run_glue_command, "enn": run_enn_command,
            "cost": run_cost_command, "fit": run_fit_command, "scoring": run_scoring_command,
            "checkpoint": run_checkpoint_command, "label": run_label_command,
            "strategies": run_strategies_command, "text-cost": run_text_cost_command,
            "sst2-accuracy": run_sst2_accuracy_command}


def run(argv=None):
    """Parse ``argv``, run the benchmark and return its results (summary dicts)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.benchmark](args)
    except ValueError as error:
        print(f"skepinet-bench {args.benchmark}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv=None):
    """The console script: run, and exit 0 (results are in files and on stdout)."""
    run(argv)
    return 0

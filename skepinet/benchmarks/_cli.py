"""The ``skepinet-bench`` command line (private; see :mod:`skepinet.benchmarks`)."""

import argparse
import dataclasses
import sys
from pathlib import Path

from ..utils import DEFAULT_N_INDEX
from . import (checkpoint, cost, enn, fit, glue, joint_cost, label, scoring, sst2_accuracy,
               strategy_cost, testbed, text_cost)
from .common import (add_options, options_from_args, parse_int_list, resolve_glue_dir,
                     torch_threads, write_result)

DEFAULT_OUT = Path("benchmark_results")


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


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skepinet-bench",
        description="Reproduce the paper's benchmarks: label efficiency (testbed, GLUE) and cost.",
    )
    sub = parser.add_subparsers(dest="benchmark", required=True)

    p = sub.add_parser("testbed", help="synthetic random-MLP testbed (paper section 3)")
    _common(p)
    add_options(p, testbed.TestbedDefaults)

    p = sub.add_parser("glue", help="GLUE tasks with a MiniLM encoder (paper section 4)")
    _common(p)
    add_options(p, glue.GlueDefaults)

    p = sub.add_parser("enn", help="ENN quality: KL to the true model, far/near uncertainty")
    _common(p)
    add_options(p, enn.EnnDefaults)

    p = _timing_parser(sub, "cost", "time of one acquisition per agent vs a forward pass "
                       "(--measure joint: predict_proba_joint vs predict_proba)")
    p.add_argument("--measure", choices=["acquisition", "joint"], default="acquisition",
                   help="acquisition: one query step per agent (cost_<backbone>.json); joint: "
                        "predict_proba_joint of every estimator on an MLP (cost_mlp.json, "
                        "options --n-rows to --device) (default acquisition)")
    p.add_argument("--backbones", default="mlp,bert", help="mlp, bert or both (default both)")
    p.add_argument("--n-candidates", type=int, default=None,
                   help="candidates scored (default 100000 for mlp, 128 for bert)")
    p.add_argument("--n-index", type=parse_int_list, default=None,
                   help="comma-separated n_index values (default 10,100; joint 1,10,100)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 3)")
    add_options(p, joint_cost.JointCostDefaults, skip=("n_index", "repeats"))
    p.add_argument("--data-dir", type=Path, default=None,
                   help="GLUE folder, for bert (default $GLUE_DIR)")
    p.add_argument("--pretrained", default=None, help="encoder for bert (default MiniLM)")
    p.add_argument("--peer", choices=["auto", "baal", "loop"], default="auto",
                   help="MC-dropout BALD implementation: baal if installed (auto), "
                        "or a K-pass loop")

    p = _timing_parser(sub, "fit", "training overhead: fit vs a plain PyTorch loop")
    p.add_argument("--n-rows", type=int, default=None, help="training rows (default 2000)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 3)")

    p = _timing_parser(sub, "scoring", "pool scoring on 1 and 2 workers and a Dask cluster")
    p.add_argument("--n-pool", type=int, default=None, help="pool rows (default 1000000)")
    p.add_argument("--n-index", type=int, default=DEFAULT_N_INDEX,
                   help=f"index samples (default {DEFAULT_N_INDEX})")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 2)")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")

    p = _timing_parser(sub, "checkpoint", "checkpoint size, save and load time")
    p.add_argument("--n-labels", type=int, default=None,
                   help="labels of the MLP learner's run (default 10000)")
    p.add_argument("--no-text", action="store_true", help="skip the MiniLM cases")
    p.add_argument("--pretrained", default=None, help="text encoder (default MiniLM)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5)")
    p.add_argument("--folder", default=None,
                   help="where files are written (default a temporary folder)")

    p = _timing_parser(sub, "label", "labelling page: answer -> next row shown, scripted browser")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="GLUE folder with SST-2 (default $GLUE_DIR; one of the two is required)")
    p.add_argument("--answers", type=int, default=None, help="answers given (default 100)")
    p.add_argument("--rows", type=int, default=None, help="rows of the labelled file (default 2000)")
    p.add_argument("--retrain-every", type=int, default=10, help="answers per refit (default 10)")
    p.add_argument("--candidates", type=int, default=256, help="rows scored per refit (default 256)")
    p = _timing_parser(sub, "strategies", "pool scoring time of every query strategy")
    add_options(p, strategy_cost.StrategyCostDefaults)

    p = _timing_parser(sub, "text-cost", "fit / predict_proba / joint cost of each head on MiniLM")
    add_options(p, text_cost.TextCostDefaults)

    p = _timing_parser(sub, "sst2-accuracy", "SST-2 dev accuracy of each estimator on MiniLM")
    add_options(p, sst2_accuracy.Sst2AccuracyDefaults)
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
                        scheduler=args.scheduler, progress=not args.no_progress)
    print(module.format_summary(summary))
    print(f"results in {out}")
    return summary


def run_testbed_command(args):
    settings = dataclasses.asdict(options_from_args(testbed.TestbedDefaults, args))
    settings["protocols"], settings["problems"] = settings.pop("protocol"), settings.pop("problem")
    return _run_sweep(testbed, testbed.run_testbed, _out(args, "testbed"), settings, args)


def run_glue_command(args):
    options = options_from_args(glue.GlueDefaults, args)
    # --n-pool 0 is the whole training split.
    settings = dict(dataclasses.asdict(options), data_dir=resolve_glue_dir(options.data_dir),
                    n_pool=options.n_pool or None)
    return _run_sweep(glue, glue.run_glue, _out(args, f"glue-{options.mode}"), settings, args)


def run_enn_command(args):
    settings = dataclasses.asdict(options_from_args(enn.EnnDefaults, args))
    return _run_sweep(enn, enn.run_enn, _out(args, "enn"), settings, args)


def run_cost_command(args):
    out = args.out or DEFAULT_OUT / ("cost-quick" if args.quick else "cost")
    if args.measure == "joint":
        return {"joint": _run_joint_cost(args, Path(out))}
    n_index = args.n_index or [10, 100]
    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    bad = sorted(set(backbones) - {"mlp", "bert"})
    if bad:
        raise ValueError(f"--backbones must name mlp and/or bert, got {bad}.")
    results = {}
    for backbone in backbones:
        quick = {"mlp": 2000, "bert": 16} if args.quick else {}
        result = cost.acquisition_cost(
            backbone, n_candidates=args.n_candidates or quick.get(backbone),
            n_index=[2] if args.quick else n_index, n_instances=4 if args.quick else 10,
            peer_n_index=[2] if args.quick else None,
            repeats=args.repeats or (1 if args.quick else 3),
            data_dir=resolve_glue_dir(args.data_dir) if backbone == "bert" else None, pretrained=args.pretrained,
            n_fit=8 if args.quick else 64,
            use_baal={"auto": None, "baal": True, "loop": False}[args.peer])
        write_result(result, cost.format_cost(result), Path(out) / f"cost_{backbone}.json")
        results[backbone] = result
    return results


def _run_joint_cost(args, out):
    # --n-index and --repeats are the cost subcommand's own, read here as the joint settings.
    result = joint_cost.joint_cost(options_from_args(joint_cost.JointCostDefaults, args))
    write_result(result, joint_cost.format_joint_cost(result), out / "cost_mlp.json")
    return result


def run_fit_command(args):
    out = args.out or DEFAULT_OUT / ("fit-quick" if args.quick else "fit")
    result = fit.fit_overhead(
        n_rows=args.n_rows or (200 if args.quick else 2000),
        epochs=args.epochs or (2 if args.quick else 30), batch_size=args.batch_size,
        repeats=args.repeats or (1 if args.quick else 3))
    write_result(result, fit.format_fit_overhead(result), Path(out) / "fit.json")
    return result


def run_scoring_command(args):
    out = args.out or DEFAULT_OUT / ("scoring-quick" if args.quick else "scoring")
    result = scoring.pool_scoring(
        n_pool=args.n_pool or (20_000 if args.quick else 1_000_000), n_index=args.n_index,
        n_train=200 if args.quick else 1000, repeats=args.repeats or (1 if args.quick else 2),
        chunk_size=2048 if args.quick else 8192, dask=False if args.no_dask else None)
    write_result(result, scoring.format_pool_scoring(result), Path(out) / "scoring.json")
    return result


def run_checkpoint_command(args):
    out = args.out or DEFAULT_OUT / ("checkpoint-quick" if args.quick else "checkpoint")
    result = checkpoint.checkpoint_cost(
        n_labels=args.n_labels or (200 if args.quick else 10_000),
        n_train=8 if args.quick else 64, pretrained=args.pretrained, text=not args.no_text,
        repeats=args.repeats or (1 if args.quick else 5), folder=args.folder)
    write_result(result, checkpoint.format_checkpoint_cost(result), Path(out) / "checkpoint.json")
    return result


def run_label_command(args):
    out = args.out or DEFAULT_OUT / ("label-quick" if args.quick else "label")
    result = label.label_latency(
        resolve_glue_dir(args.data_dir), n_answers=args.answers or (15 if args.quick else 100),
        n_rows=args.rows or (200 if args.quick else 2000), retrain_every=args.retrain_every,
        candidates=args.candidates)
    write_result(result, label.format_label_latency(result), Path(out) / "label.json")
    return result


def run_strategies_command(args):
    out = args.out or DEFAULT_OUT / ("strategies-quick" if args.quick else "strategies")
    options = options_from_args(strategy_cost.StrategyCostDefaults, args)
    result = strategy_cost.strategy_cost(options)
    write_result(result, strategy_cost.format_strategy_cost(result),
                 Path(out) / "strategies_mlp.json")
    return result


def _quiet_transformers():
    """Hide transformers' progress bars: they would interleave with the benchmark's lines."""
    try:
        import transformers
        transformers.logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass


def run_text_cost_command(args):
    out = args.out or DEFAULT_OUT / ("text-cost-quick" if args.quick else "text-cost")
    options = options_from_args(text_cost.TextCostDefaults, args)
    _quiet_transformers()
    with torch_threads(options.threads):
        result = text_cost.text_cost(options)
    write_result(result, text_cost.format_text_cost(result), Path(out) / "text_cost_minilm.json")
    return result


def run_sst2_accuracy_command(args):
    out = args.out or DEFAULT_OUT / ("sst2-accuracy-quick" if args.quick else "sst2-accuracy")
    options = options_from_args(sst2_accuracy.Sst2AccuracyDefaults, args)
    _quiet_transformers()
    with torch_threads(options.threads):
        result = sst2_accuracy.sst2_accuracy(options)
    write_result(result, sst2_accuracy.format_sst2_accuracy(result),
                 Path(out) / "sst2_accuracy_minilm.json")
    return result


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

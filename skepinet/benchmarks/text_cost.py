"""Cost of fitting and predicting with a text encoder (MiniLM) under each head.

On the first ``--n-sentences`` rows (default 512, in file order, not a
sample) of the SST-2 training set, this times, in one run and one process,
for each estimator (baseline, epinet, MC dropout, ensemble):

* ``fit`` with full fine-tuning (``freeze_encoder=False``), 1 epoch;
* ``fit`` with a frozen encoder, 1 epoch: **cold** (after
  ``skepinet.text.clear_feature_cache()``, so it includes loading the frozen
  encoder and extracting every sentence's features) and **warm** (a fresh
  estimator on the same sentences, features already cached: only the heads
  train);
* on the fine-tuned model (the encoder runs on every prediction):
  ``predict_proba`` (mean over ``n_index_predict=100`` index samples for the
  ENNs, one forward pass for the baseline) and ``predict_proba_joint`` with
  ``n_index`` 10 and 100.

Every time is also given as a ratio to the baseline's ``predict_proba`` on
the same sentences. The target checked: an ENN's ``predict_proba_joint``
with 100 index samples costs at most 1.15x the baseline's ``predict_proba``.

Fits are timed ``--fit-repeats`` times (default 2), interleaved across
estimators, and the minimum is reported: on a shared 2-core machine one
fine-tuning epoch slowed several-fold by another process is common. A
fine-tuned fit includes building the model (loading MiniLM from disk). One
untimed fine-tuned fit on 8 sentences warms up the tokenizer and torch first. Predictions are interleaved: every
configuration gets one untimed warm-up call on 64 sentences, then each
repeat times every configuration in turn, each right after a baseline
``predict_proba``; the reported time is the **minimum** over repeats (every
sample is kept in the JSON). ``max_length=64`` (SST-2 sentences are short and
padding is per batch), batch size 32 for training and prediction.

Run it as ``skepinet-bench text-cost`` (``--threads 1`` is steadier on a
shared machine, ``--quick`` a smoke test); it prints a table and writes
``text_cost_minilm.json`` under ``--out``.
"""

import os
from dataclasses import dataclass

import numpy as np

from .. import text as sktext
from ..datasets import load_glue
from ..estimators import ESTIMATORS, BaselineClassifier
from .common import (
    interleaved_times,
    minilm_estimator,
    option,
    parse_int_list,
    resolve_glue_dir,
    timed,
    timing_result,
)

__all__ = ["TextCostDefaults", "text_cost", "format_text_cost", "TARGET_RATIO", "TARGET_N_INDEX"]

TARGET_RATIO = 1.15
TARGET_N_INDEX = 100


@dataclass(frozen=True)
class TextCostDefaults:
    """Settings of ``skepinet-bench text-cost``; :meth:`quick` gives the smoke test's."""

    n_sentences: int = option(512, "first rows of SST-2 train to use", int)
    data_dir: str = option(None, "GLUE folder (else $GLUE_DIR)")
    pretrained: str = option(None, "encoder (none: the offline MiniLM)")
    max_length: int = option(64, "tokens per sentence", int)
    batch_size: int = option(32, "training and prediction batch size", int)
    n_index: tuple = option((10, 100), "comma-separated n_index values", parse_int_list)
    repeats: int = option(2, "timed prediction repeats", int)
    fit_repeats: int = option(2, "timed fit repeats, interleaved, min reported", int)
    lr: float = option(1e-3, "head learning rate", float)
    encoder_lr: float = option(1e-5, "encoder learning rate", float)
    device: str = option("auto", "'auto', 'cpu' or 'cuda'")
    threads: int = option(None, "torch CPU threads for this run (none: torch's default)", int)
    # Recorded in the results: the sizes were a smoke test's. Not an option (--quick sets it).
    is_quick: bool = False

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_sentences=16, repeats=1, fit_repeats=1, is_quick=True)


def _check(args):
    if (args.n_sentences < 2 or args.repeats < 1 or args.fit_repeats < 1
            or not args.n_index or min(args.n_index) < 1):
        raise ValueError("--n-sentences (>= 2), --repeats and --n-index must be positive")


def _make(cls, args, **params):
    return minilm_estimator(cls, args, encoder_lr=args.encoder_lr, max_epochs=1, **params)


def text_cost(args):
    """Time fit, predict_proba and predict_proba_joint of every estimator on MiniLM.

    Parameters
    ----------
    args : TextCostDefaults
        The settings.

    Returns
    -------
    result : dict
        ``settings`` and ``rows`` (one per estimator, mode and method).
    """
    _check(args)
    load_before = os.getloadavg()
    X, y = load_glue("sst2", resolve_glue_dir(args.data_dir), split="train")
    X, y = list(X[: args.n_sentences]), y[: args.n_sentences]
    n = len(X)
    n_tokens = [len(ids) for ids in sktext.shared_tokenizer(args.pretrained)(
        X, truncation=True, max_length=args.max_length)["input_ids"]]

    # Untimed warm-up: tokenizer, model files, torch kernels.
    _make(BaselineClassifier, args).fit(X[:8], y[:8])

    # Fits are interleaved too: each repeat fits every estimator in turn.
    fit_times, models = {}, {}
    for _ in range(args.fit_repeats):
        for name, cls in ESTIMATORS.items():
            model = _make(cls, args, freeze_encoder=False)
            fit_times.setdefault((name, "fine-tuned"), []).append(timed(lambda: model.fit(X, y)))
            models[name] = model
    for _ in range(args.fit_repeats):
        for name, cls in ESTIMATORS.items():
            sktext.clear_feature_cache()
            for mode in ("frozen, cold", "frozen, warm"):
                fit_times.setdefault((name, mode), []).append(
                    timed(lambda: _make(cls, args, freeze_encoder=True).fit(X, y)))
    sktext.clear_feature_cache()

    base = models["baseline"]
    configs = [("baseline", "predict_proba", None, lambda: base.predict_proba(X))]
    for name, model in models.items():
        if name != "baseline":
            configs.append((name, "predict_proba", None, (lambda m: lambda: m.predict_proba(X))(model)))
        for k in args.n_index:
            configs.append((name, "predict_proba_joint", k,
                            (lambda m, k: lambda: m.predict_proba_joint(X, n_index=k))(model, k)))
    warm = X[: min(n, 64)]
    for name, method, k, _ in configs:
        model = models[name]
        model.predict_proba(warm) if k is None else model.predict_proba_joint(warm, n_index=k)
    times = interleaved_times([call for *_, call in configs], args.repeats)
    base_seconds = min(times[0])

    def row(name, mode, method, k, samples):
        seconds = min(samples)
        ratio = seconds / base_seconds
        out = {
            "estimator": name, "mode": mode, "method": method, "n_index": k,
            "seconds": seconds, "sentences_per_s": n / seconds,
            "ratio_to_baseline": ratio, "all_seconds": list(samples),
        }
        if method == "predict_proba_joint" and k == TARGET_N_INDEX and name != "baseline":
            out["meets_target"] = bool(ratio <= TARGET_RATIO)
        return out

    rows = [row(name, mode, "fit", None, t) for (name, mode), t in fit_times.items()]
    rows += [row(name, "fine-tuned", method, k, t) for (name, method, k, _), t in zip(configs, times)]

    settings = {
        "task": "SST-2 train",
        "n_sentences": n,
        "selection": f"first {n} rows of train.tsv (file order)",
        "tokens_per_sentence_mean": float(np.mean(n_tokens)),
        "tokens_per_sentence_max": int(np.max(n_tokens)),
        "pretrained": sktext.resolve_pretrained(args.pretrained),
        "encoder_hidden_size": int(base.module_.encoder.n_features_out),
        "encoder_layers": int(base.module_.encoder.model.config.num_hidden_layers),
        "pooling": base.pooling,
        "max_length": args.max_length,
        "train_batch_size": args.batch_size,
        "predict_batch_size": args.batch_size,
        "fit_epochs": 1,
        "lr": args.lr,
        "encoder_lr": args.encoder_lr,
        "n_index_predict": {name: getattr(m, "n_index_predict", 1) for name, m in models.items()},
        "n_index": list(args.n_index),
        "repeats": args.repeats,
        "fit_repeats": args.fit_repeats,
        "statistic": (
            "fits: min over fit_repeats interleaved repeats (fine-tuned fit includes loading the "
            "encoder; frozen cold fit includes clearing the cache, loading the encoder and "
            "extracting features). "
            "predictions: min over repeats after one untimed warm-up on 64 sentences; baseline "
            "predict_proba is timed before every configuration, min over all those samples"
        ),
        "target": f"ENN predict_proba_joint(n_index={TARGET_N_INDEX}) <= {TARGET_RATIO}x "
                  "baseline predict_proba (fine-tuned mode)",
        "quick": args.is_quick,
    }
    return timing_result(settings, rows, base.device, load_before)


def format_text_cost(result):
    """The text cost table as text."""
    s = result["settings"]
    lines = [
        f"SST-2 train, {s['selection']} ({s['tokens_per_sentence_mean']:.1f} tokens/sentence on "
        f"average, max {s['tokens_per_sentence_max']}), MiniLM {s['encoder_layers']} layers x "
        f"{s['encoder_hidden_size']}, max_length={s['max_length']}, batch_size={s['train_batch_size']} "
        f"(train and predict), device={s['device']}, torch {s['torch_version']} "
        f"({s['torch_threads']} threads)",
        f"fits (1 epoch) min over {s['fit_repeats']}, predictions min over {s['repeats']} repeats; "
        f"1-min load average "
        f"before/after: {s['loadavg_1_5_15_min_before'][0]:.2f} / "
        f"{s['loadavg_1_5_15_min_after'][0]:.2f} on {s['cpu_count']} CPUs",
        f"ratio = seconds / baseline predict_proba seconds; target: ENN joint n_index=100 <= "
        f"{TARGET_RATIO:.2f}x",
        f"{'estimator':<10} {'mode':<14} {'method':<20} {'n_index':>7} {'seconds':>9} "
        f"{'sent/s':>9} {'ratio':>7} {'target':>7}",
    ]
    for r in result["rows"]:
        k = "-" if r["n_index"] is None else r["n_index"]
        target = {True: "met", False: "MISSED"}.get(r.get("meets_target"), "")
        lines.append(
            f"{r['estimator']:<10} {r['mode']:<14} {r['method']:<20} {k:>7} {r['seconds']:>9.3f} "
            f"{r['sentences_per_s']:>9.1f} {r['ratio_to_baseline']:>7.2f} {target:>7}"
        )
    return "\n".join(lines)
